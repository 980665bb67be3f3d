//! Launcher of `conv2d.wgsl`: builds the pipeline once, then per call uploads the input and the
//! repacked filters, dispatches, and reads the result back.

use bytemuck::{Pod, Zeroable};

use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::conv::Conv2dGeometry;

/// Invocations per workgroup; must match `WORKGROUP` in the shader.
const WORKGROUP: u64 = 64;

/// Mirror of the shader's `Conv2dShape` (std140-compatible: 20 u32, a multiple of 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Conv2dShape {
    batch: u32,
    in_h: u32,
    in_w: u32,
    in_c: u32,
    fh: u32,
    fw: u32,
    out_c: u32,
    out_c_vec4: u32,
    out_h: u32,
    out_w: u32,
    pad_top: u32,
    pad_left: u32,
    stride_h: u32,
    stride_w: u32,
    dilation_h: u32,
    dilation_w: u32,
    workgroups_x: u32,
    _pad: [u32; 3],
}

/// The compiled conv2d pipeline and its bind-group layout.
pub(super) struct Conv2dKernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Conv2dKernel {
    pub(super) fn new(device: &wgpu::Device) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("conv2d.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("conv2d.wgsl").into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        };
        let storage = |read_only| wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let uniform = wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("conv2d"),
            entries: &[
                entry(0, uniform),
                entry(1, storage(true)),
                entry(2, storage(true)),
                entry(3, storage(false)),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("conv2d"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("conv2d"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Self { pipeline, layout }
    }
}

/// Workgroup counts `(x, y)` covering `invocations`, within the per-dimension limit.
fn dispatch_size(invocations: u64, max_per_dim: u32) -> Result<(u32, u32)> {
    let groups = invocations.div_ceil(WORKGROUP).max(1);
    let max = u64::from(max_per_dim.max(1));
    let x = groups.min(max);
    let y = groups.div_ceil(x);
    if y > max {
        return Err(Error::limit(
            "conv2d",
            "x",
            format!("needs {groups} workgroups, over this device's maxComputeWorkgroupsPerDimension^2 ({})", max * max),
        ));
    }
    Ok((x as u32, y as u32))
}

fn as_u32(arg: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        Error::limit("conv2d", arg, format!("{v} does not fit the GPU's 32-bit indices"))
    })
}

pub(super) async fn run(
    ctx: &GpuContext,
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
) -> Result<Vec<f32>> {
    let out_len = g.output_shape().iter().product::<usize>();
    let groups = g.out_c.div_ceil(4);
    let (packed, _) = crate::backend::cpu::filters_padded_to(g, w, 4)?;
    ctx.check_binding("conv2d", "x", (x.len() * 4) as u64)?;
    ctx.check_binding("conv2d", "filters", (packed.len() * 4) as u64)?;
    ctx.check_binding("conv2d", "output", (out_len * 4) as u64)?;
    let invocations = (g.batch * g.out_h * g.out_w) as u64 * groups as u64;
    let (wx, wy) = dispatch_size(invocations, ctx.limits.max_compute_workgroups_per_dimension)?;
    let shape = Conv2dShape {
        batch: as_u32("x", g.batch)?,
        in_h: as_u32("x", g.in_h)?,
        in_w: as_u32("x", g.in_w)?,
        in_c: as_u32("x", g.in_c)?,
        fh: as_u32("filters", g.fh)?,
        fw: as_u32("filters", g.fw)?,
        out_c: as_u32("filters", g.out_c)?,
        out_c_vec4: as_u32("filters", groups)?,
        out_h: as_u32("output", g.out_h)?,
        out_w: as_u32("output", g.out_w)?,
        pad_top: as_u32("padding", g.pad_top)?,
        pad_left: as_u32("padding", g.pad_left)?,
        stride_h: as_u32("strides", g.strides[0])?,
        stride_w: as_u32("strides", g.strides[1])?,
        dilation_h: as_u32("dilations", g.dilations[0])?,
        dilation_w: as_u32("dilations", g.dilations[1])?,
        workgroups_x: wx,
        _pad: [0; 3],
    };
    let device = &ctx.device;
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    // create_buffer + write_buffer rather than create_buffer_init: the latter maps at creation
    // and panics when the device is gone; this way a lost device is an error scope's error.
    let init = |label, contents: &[u8], usage: wgpu::BufferUsages| {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: contents.len() as u64,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&buffer, 0, contents);
        buffer
    };
    let uniform = init("conv2d shape", bytemuck::bytes_of(&shape), wgpu::BufferUsages::UNIFORM);
    let x_buf = init("conv2d x", bytemuck::cast_slice(x), wgpu::BufferUsages::STORAGE);
    let w_buf = init("conv2d filters", bytemuck::cast_slice(&packed), wgpu::BufferUsages::STORAGE);
    let bytes = (out_len * 4) as u64;
    let y_buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("conv2d y"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("conv2d read-back"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("conv2d"),
        layout: &ctx.conv2d.layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: x_buf.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: w_buf.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 3, resource: y_buf.as_entire_binding() },
        ],
    });
    let mut encoder =
        device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("conv2d") });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("conv2d"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&ctx.conv2d.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(wx, wy, 1);
    }
    encoder.copy_buffer_to_buffer(&y_buf, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    if let Some(e) = oom.pop().await {
        return Err(Error::backend(format!("webgpu: conv2d ran out of GPU memory: {e}")));
    }
    if let Some(e) = validation.pop().await {
        return Err(Error::backend(format!("webgpu: conv2d was rejected by the device: {e}")));
    }
    ctx.read_back(&staging).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_struct_matches_the_shader_size() {
        assert_eq!(std::mem::size_of::<Conv2dShape>(), 80);
    }

    #[test]
    fn dispatch_stays_inside_the_per_dimension_limit() {
        assert_eq!(dispatch_size(64, 65535).unwrap(), (1, 1));
        assert_eq!(dispatch_size(65, 65535).unwrap(), (2, 1));
        let (x, y) = dispatch_size(64 * 70_000, 65535).unwrap();
        assert!(x <= 65535 && u64::from(x) * u64::from(y) >= 70_000);
        assert!(dispatch_size(64 * 5 * 5 + 1, 4).is_err());
    }
}
