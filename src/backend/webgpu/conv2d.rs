//! Launcher of `conv2d.wgsl`: the direct convolution on device-resident tensors. The filters
//! are uploaded once with their output channels padded to a multiple of 4 (whole `vec4`s).

use super::runtime::{u32_of, GpuTensor, KernelSpec};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::conv::Conv2dGeometry;

const DIRECT: KernelSpec = KernelSpec {
    file: "conv2d.wgsl",
    source: include_str!("conv2d.wgsl"),
    entry: "main",
    inputs: 2,
    outputs: 1,
};

impl GpuContext {
    /// Uploads HWIO filters in the layout [`Self::conv2d_tensors`] reads.
    pub fn upload_conv_filters(&self, g: &Conv2dGeometry, filters: &[f32]) -> Result<GpuTensor> {
        crate::backend::cpu::check_len("conv2d", "filters", filters.len(), &g.filter_shape())?;
        let (packed, padded) = crate::backend::cpu::filters_padded_to(g, filters, 4)?;
        self.upload("conv2d", "filters", &[g.fh, g.fw, g.in_per_group(), padded], &packed)
    }

    /// `tf.nn.conv2d` on device tensors: `x` of `g.input_shape()`, `filters` from
    /// [`Self::upload_conv_filters`].
    pub async fn conv2d_tensors(
        &self,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        filters: &GpuTensor,
    ) -> Result<GpuTensor> {
        const OP: &str = "conv2d";
        if x.shape() != g.input_shape() {
            return Err(Error::invalid(
                OP,
                "x",
                format!("has shape {:?}, expected {:?}", x.shape(), g.input_shape()),
            ));
        }
        let vec4s = g.out_c.div_ceil(4);
        if filters.shape() != [g.fh, g.fw, g.in_c, vec4s * 4] {
            return Err(Error::invalid(
                OP,
                "filters",
                format!(
                    "has packed shape {:?}, expected [{}, {}, {}, {}]",
                    filters.shape(),
                    g.fh,
                    g.fw,
                    g.in_c,
                    vec4s * 4
                ),
            ));
        }
        if g.groups != 1 {
            return Err(Error::invalid(OP, "groups", "the direct kernel is ungrouped"));
        }
        let params = vec![
            0,
            0,
            u32_of(OP, "x", g.batch)?,
            u32_of(OP, "x", g.in_h)?,
            u32_of(OP, "x", g.in_w)?,
            u32_of(OP, "x", g.in_c)?,
            u32_of(OP, "filters", g.fh)?,
            u32_of(OP, "filters", g.fw)?,
            u32_of(OP, "filters", g.out_c)?,
            u32_of(OP, "filters", vec4s)?,
            u32_of(OP, "output", g.out_h)?,
            u32_of(OP, "output", g.out_w)?,
            u32_of(OP, "padding", g.pad_top)?,
            u32_of(OP, "padding", g.pad_left)?,
            u32_of(OP, "strides", g.strides[0])?,
            u32_of(OP, "strides", g.strides[1])?,
            u32_of(OP, "dilations", g.dilations[0])?,
            u32_of(OP, "dilations", g.dilations[1])?,
        ];
        let invocations = (g.batch * g.out_h * g.out_w) as u64 * vec4s as u64;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", &g.output_shape())?;
            self.launch(enc, &DIRECT, &params, &[x, filters], &[&y], invocations)?;
            Ok(y)
        })
        .await
    }
}
