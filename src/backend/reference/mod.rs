//! Naive f64 loops for every op, forward and backward: the oracle every fast kernel is tested
//! against, and itself checked against TensorFlow's outputs and (backward) finite differences.
//!
//! Written for obviousness, not speed: one loop per index of the defining formula, zeros outside
//! the input decided by an explicit bounds test. Compiled in tests and behind the `reference`
//! cargo feature so that integration tests in `tests/` can use it.

mod activation;
mod combine;
mod conv;
mod dense;
mod loss;
mod norm;
mod pool;

pub use activation::{activation, activation_backward};
pub use combine::{
    add, channel_scale, channel_scale_backward, concat, concat_backward, depth_max_pool,
    depth_max_pool_backward, dropout, subsample, subsample_backward, zero_pad, zero_pad_backward,
};
pub use conv::{conv2d, conv2d_backward_bias, conv2d_backward_filter, conv2d_backward_input};
pub use dense::{dense, dense_backward};
pub use loss::{mean_squared_error, softmax_cross_entropy};
pub use norm::{
    batch_norm, batch_norm_inference_backward, batch_norm_training, batch_norm_training_backward,
    lrn, lrn_backward, moments,
};
pub use pool::{
    avg_pool2d, avg_pool2d_backward, global_avg_pool, global_avg_pool_backward, global_max_pool,
    global_max_pool_backward, max_pool2d, max_pool2d_backward,
};
