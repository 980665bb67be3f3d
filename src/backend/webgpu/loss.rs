//! Launcher of `loss.wgsl`: softmax cross-entropy (integer labels) and mean squared error, each
//! returning the mean loss as a one-element device tensor and the gradient.

use super::runtime::{u32_of, GpuTensor, KernelSpec};
use super::split::{each, Operand::Units};
use super::GpuContext;
use crate::error::{Error, Result};

const fn spec(entry: &'static str) -> KernelSpec {
    KernelSpec {
        file: "loss.wgsl",
        source: include_str!("loss.wgsl"),
        entry,
        inputs: 2,
        outputs: 2,
    }
}
const XENT: KernelSpec = spec("softmax_cross_entropy");
const MSE: KernelSpec = spec("mean_squared_error");

impl GpuContext {
    /// Uploads integer class labels (checked against `classes`) for
    /// [`Self::softmax_cross_entropy`].
    pub fn upload_labels(&self, labels: &[u32], classes: usize) -> Result<GpuTensor> {
        const OP: &str = "softmaxCrossEntropy";
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
            return Err(Error::invalid(
                OP,
                "labels",
                format!("label {l} at index {i} is not below the {classes} classes"),
            ));
        }
        if classes > 1 << 24 {
            return Err(Error::limit(OP, "logits", format!("{classes} classes exceed 2^24")));
        }
        let as_f32: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        self.upload(OP, "labels", &[labels.len()], &as_f32)
    }

    /// Mean softmax cross-entropy of `logits` `[n, classes]` against labels from
    /// [`Self::upload_labels`]: `(mean loss [1], d loss / d logits)`.
    pub async fn softmax_cross_entropy(
        &self,
        logits: &GpuTensor,
        labels: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor)> {
        const OP: &str = "softmaxCrossEntropy";
        let &[n, classes] = logits.shape() else {
            return Err(Error::invalid(
                OP,
                "logits",
                format!("expected [batch, classes], got {:?}", logits.shape()),
            ));
        };
        if labels.shape() != [n] {
            return Err(Error::invalid(
                OP,
                "labels",
                format!("has shape {:?}, expected [{n}]", labels.shape()),
            ));
        }
        let p = vec![0, 0, u32_of(OP, "logits", classes)?, u32_of(OP, "logits", n)?];
        let (terms, grad) = self
            .submit(OP, |enc| {
                let grad = self.alloc(OP, "gradient", logits.shape())?;
                let terms = self.alloc(OP, "loss", &[n])?;
                let ins = [Units("logits", logits, classes), Units("labels", labels, 1)];
                let outs = [Units("gradient", &grad, classes), Units("loss", &terms, 1)];
                self.launch_split(enc, &XENT, (OP, "row"), n, &ins, &outs, each(&p, 1))?;
                Ok((terms, grad))
            })
            .await?;
        Ok((self.column_sums_as(OP, &terms, n, 1).await?, grad))
    }

    /// Mean squared error of `y` against `target` (same shape): `(mean loss [1], gradient)`.
    pub async fn mean_squared_error(
        &self,
        y: &GpuTensor,
        target: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor)> {
        const OP: &str = "meanSquaredError";
        if y.shape() != target.shape() {
            return Err(Error::invalid(
                OP,
                "target",
                format!("has shape {:?}, the prediction {:?}", target.shape(), y.shape()),
            ));
        }
        let p = vec![0, 0, 0, u32_of(OP, "y", y.len())?];
        let (terms, grad) = self
            .submit(OP, |enc| {
                let grad = self.alloc(OP, "gradient", y.shape())?;
                let terms = self.alloc(OP, "loss", &[y.len()])?;
                let ins = [Units("y", y, 1), Units("target", target, 1)];
                let outs = [Units("gradient", &grad, 1), Units("loss", &terms, 1)];
                self.launch_split(enc, &MSE, (OP, "element"), y.len(), &ins, &outs, each(&p, 1))?;
                Ok((terms, grad))
            })
            .await?;
        Ok((self.column_sums_as(OP, &terms, y.len(), 1).await?, grad))
    }
}
