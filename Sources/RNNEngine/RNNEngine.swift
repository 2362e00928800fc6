// RNNEngine module.
import RNNCore
