//! Shape-only ops: Flatten (Keras keeps the batch axis; ONNX's `axis` generalises it) and
//! Reshape with one inferred (-1) dimension. The data never moves; only the shape changes.

use crate::error::{Error, Result};
use crate::tensor::element_count;

/// `[prod(dims[..axis]), prod(dims[axis..])]`. `axis` may be negative (counted from the end)
/// and lies in `-rank..=rank`; Keras's Flatten is `axis = 1`.
pub fn flatten_shape(op: &str, shape: &[usize], axis: i64) -> Result<[usize; 2]> {
    let rank = shape.len() as i64;
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..=rank).contains(&a) {
        return Err(Error::invalid(
            op,
            "axis",
            format!("{axis} is outside -{rank}..={rank} for shape {shape:?}"),
        ));
    }
    let count = element_count(op, "x", shape)?;
    let outer: usize = shape[..a as usize].iter().product();
    Ok([outer, count / outer])
}

/// The shape `target` with its one `-1` (if any) inferred so that the element count is kept.
pub fn reshape(op: &str, shape: &[usize], target: &[i64]) -> Result<Vec<usize>> {
    let count = element_count(op, "x", shape)?;
    let unknown = target.iter().filter(|&&d| d == -1).count();
    if unknown > 1 || target.iter().any(|&d| d == 0 || d < -1) {
        return Err(Error::invalid(
            op,
            "shape",
            format!("{target:?}: sizes must be >= 1, with at most one -1"),
        ));
    }
    let known: usize = target.iter().filter(|&&d| d > 0).map(|&d| d as usize).product();
    let out: Vec<usize> =
        target.iter().map(|&d| if d == -1 { count / known.max(1) } else { d as usize }).collect();
    if out.iter().product::<usize>() != count {
        return Err(Error::invalid(
            op,
            "shape",
            format!("{target:?} cannot hold the {count} elements of shape {shape:?}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_and_reshape() {
        assert_eq!(flatten_shape("f", &[2, 3, 4, 5], 1).unwrap(), [2, 60]);
        assert_eq!(flatten_shape("f", &[2, 3, 4, 5], -1).unwrap(), [24, 5]);
        assert_eq!(flatten_shape("f", &[2, 3, 4, 5], 0).unwrap(), [1, 120]);
        assert_eq!(flatten_shape("f", &[2, 3, 4, 5], 4).unwrap(), [120, 1]);
        assert!(flatten_shape("f", &[2, 3], 3).unwrap_err().message().contains("'axis'"));
        assert_eq!(reshape("r", &[2, 3, 4], &[-1, 4]).unwrap(), vec![6, 4]);
        assert!(reshape("r", &[2, 3, 4], &[5, -1]).is_err());
        assert!(reshape("r", &[2, 3, 4], &[-1, -1]).is_err());
    }
}
