// RNNTrain module.
import RNNCore
