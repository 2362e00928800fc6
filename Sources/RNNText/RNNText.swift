// RNNText module.
import RNNCore
