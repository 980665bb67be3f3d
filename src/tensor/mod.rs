//! Tensors (a shape and f32 data, row-major, NHWC for activations and HWIO for filters) and the
//! output-size arithmetic shared by convolution and pooling.

mod window;

pub use window::{output_extent, AxisPadding, Extent, WindowName};

use crate::error::{Error, Result};

/// The largest tensor the core accepts: 2^28 f32 elements (1 GiB). wasm32 addresses 4 GiB in
/// all, and a conv needs its input, its filters, its output and a padded copy at once, so a
/// single tensor beyond a quarter of that could never run. The cap is checked before anything
/// is allocated.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

/// A dense f32 tensor. `data.len()` always equals the product of `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// Builds a tensor, checking that `data` holds exactly `shape`'s element count.
    ///
    /// `op` and `arg` name the caller and the argument in the error message.
    pub fn new(op: &str, arg: &str, shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let count = element_count(op, arg, &shape)?;
        if count != data.len() {
            return Err(Error::invalid(
                op,
                arg,
                format!("data has {} elements but shape {:?} needs {count}", data.len(), shape),
            ));
        }
        Ok(Self { shape, data })
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Takes the elements out.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
}

/// The element count of `shape`, refusing zero or negative sizes, overflow and sizes past
/// [`MAX_TENSOR_ELEMENTS`].
pub fn element_count(op: &str, arg: &str, shape: &[usize]) -> Result<usize> {
    let mut count: usize = 1;
    for (axis, &dim) in shape.iter().enumerate() {
        if dim == 0 {
            return Err(Error::invalid(
                op,
                arg,
                format!("shape {shape:?} has size 0 on axis {axis}"),
            ));
        }
        count = count
            .checked_mul(dim)
            .filter(|&c| c <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| too_large(op, arg, shape))?;
    }
    Ok(count)
}

fn too_large(op: &str, arg: &str, shape: &[usize]) -> Error {
    let total: f64 = shape.iter().map(|&d| d as f64).product();
    Error::limit(
        op,
        arg,
        format!(
            "shape {shape:?} holds {total:.0} elements, over the cap of {MAX_TENSOR_ELEMENTS} \
             (1 GiB of f32)"
        ),
    )
}

/// Zero padding of a 2-D window op, as in `tf.nn.conv2d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(in / stride)`; the odd extra pad goes to the bottom/right (TensorFlow).
    Same,
    /// No padding: only windows that fit entirely inside the input.
    Valid,
    /// Explicit zero padding `[[top, bottom], [left, right]]`.
    Explicit {
        /// Rows of zeros above the input.
        top: usize,
        /// Rows of zeros below the input.
        bottom: usize,
        /// Columns of zeros left of the input.
        left: usize,
        /// Columns of zeros right of the input.
        right: usize,
    },
}

impl Padding {
    /// The padding of the rows and of the columns, each as one axis sees it.
    pub fn per_axis(self) -> (AxisPadding, AxisPadding) {
        match self {
            Padding::Same => (AxisPadding::Same, AxisPadding::Same),
            Padding::Valid => (AxisPadding::Valid, AxisPadding::Valid),
            Padding::Explicit { top, bottom, left, right } => {
                (AxisPadding::Explicit(top, bottom), AxisPadding::Explicit(left, right))
            }
        }
    }
}
