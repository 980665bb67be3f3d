//! What every WebGPU op shares: tensors that live in device buffers ([`GpuTensor`]), the pool
//! those buffers come from, the cache of compiled pipelines, and the one launch path.
//!
//! - **Buffers** are pooled by size class (four classes per power of two, so at most 19% of a
//!   buffer is slack). A [`GpuTensor`] returns its buffer to the pool when dropped; the pool
//!   keeps at most [`POOL_BYTES`] of idle buffers and destroys the rest.
//! - **Pipelines** and their bind-group layouts are compiled the first time a kernel is used and
//!   kept for the life of the device, keyed by shader file and entry point.
//! - **Launches**: binding 0 is the kernel's uniform struct, then its read-only inputs, then its
//!   outputs. The struct's first two words are written here: `wg_x` (workgroups along x: the
//!   grid is flattened to 2-D to stay inside the per-dimension limit) and `count` (the
//!   invocations wanted; the extra ones of the last workgroup return at once). Shapes never
//!   become shader text.

use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Invocations per workgroup of every 1-D kernel (`@workgroup_size(64)` in the shaders).
pub const WORKGROUP: u64 = 64;

/// Idle bytes the pool keeps for reuse; buffers beyond it are destroyed when released.
pub const POOL_BYTES: u64 = 256 << 20;

/// A WGSL file and one of its entry points, with the number of input and output storage
/// bindings after the uniform struct.
#[derive(Debug, Clone, Copy)]
pub struct KernelSpec {
    /// The file name, for labels and the cache.
    pub file: &'static str,
    /// The file's text (`include_str!`).
    pub source: &'static str,
    /// The `@compute` entry point.
    pub entry: &'static str,
    /// Read-only storage bindings 1..=inputs.
    pub inputs: usize,
    /// Read-write storage bindings after the inputs.
    pub outputs: usize,
}

pub(super) struct Compiled {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// Compiled pipelines, by (file, entry).
#[derive(Default)]
pub(super) struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<(&'static str, &'static str), Arc<Compiled>>,
}

impl PipelineCache {
    pub(super) fn get(&mut self, device: &wgpu::Device, spec: &KernelSpec) -> Arc<Compiled> {
        if let Some(c) = self.pipelines.get(&(spec.file, spec.entry)) {
            return Arc::clone(c);
        }
        let module = self.modules.entry(spec.file).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(spec.file),
                source: wgpu::ShaderSource::Wgsl(spec.source.into()),
            })
        });
        let entry = |binding: usize, ty| wgpu::BindGroupLayoutEntry {
            binding: binding as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        };
        let storage = |read_only| wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let mut entries = vec![entry(
            0,
            wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
        )];
        for i in 0..spec.inputs {
            entries.push(entry(1 + i, storage(true)));
        }
        for i in 0..spec.outputs {
            entries.push(entry(1 + spec.inputs + i, storage(false)));
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(spec.entry),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(spec.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(spec.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let compiled = Arc::new(Compiled { pipeline, layout });
        self.pipelines.insert((spec.file, spec.entry), Arc::clone(&compiled));
        compiled
    }

    pub(super) fn len(&self) -> usize {
        self.pipelines.len()
    }
}

/// Idle buffers by size class, and counters for tests and the UI.
#[derive(Default)]
pub(super) struct PoolState {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    idle_bytes: u64,
    /// Buffers handed out from the pool.
    pub hits: u64,
    /// Buffers that had to be created.
    pub misses: u64,
}

/// The pool's counters: `(reused, created, idle bytes)`.
pub type PoolStats = (u64, u64, u64);

impl PoolState {
    pub(super) fn stats(&self) -> PoolStats {
        (self.hits, self.misses, self.idle_bytes)
    }
}

/// The size class of a request: rounded up to a quarter of its power of two (at least 256 B).
pub fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let top = 63 - (b - 1).leading_zeros() as u64; // b <= 2^(top+1)
    let step = 1u64 << top.saturating_sub(2);
    b.div_ceil(step) * step
}

/// A buffer on loan from the pool; returned when dropped.
pub(super) struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    pool: Rc<RefCell<PoolState>>,
}

impl PooledBuffer {
    pub(super) fn buffer(&self) -> &wgpu::Buffer {
        // Only `drop` takes the buffer out.
        self.buffer.as_ref().expect("a pooled buffer is present until dropped")
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let Some(buffer) = self.buffer.take() else { return };
        let Ok(mut pool) = self.pool.try_borrow_mut() else { return };
        if pool.idle_bytes + self.class <= POOL_BYTES {
            pool.idle_bytes += self.class;
            pool.free.entry(self.class).or_default().push(buffer);
        } else {
            buffer.destroy();
        }
    }
}

/// A tensor in GPU memory: a pooled storage buffer and its shape. Views of the same buffer
/// ([`Self::view`]) share it; dropping the last returns the buffer to the pool.
/// [`super::GpuContext::read`] copies it back to the CPU.
pub struct GpuTensor {
    pub(super) buf: Rc<PooledBuffer>,
    shape: Vec<usize>,
    len: usize,
}

impl GpuTensor {
    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Its element count.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements (never, for tensors made by the context).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The same buffer seen with another shape of the same size (a reshape costs nothing).
    pub fn reshaped(self, shape: &[usize]) -> Result<Self> {
        self.view(shape)
    }

    /// Another handle on the same buffer, seen with `shape` (of the same element count): a
    /// kept tensor's device copy lent to an op, reshaped for free. Kernels only read their
    /// inputs, so sharing the buffer is safe; it returns to the pool when the last handle goes.
    pub fn view(&self, shape: &[usize]) -> Result<Self> {
        let len: usize = shape.iter().product();
        if len != self.len {
            return Err(Error::invalid(
                "reshape",
                "shape",
                format!("{shape:?} holds {len} elements, the tensor {}", self.len),
            ));
        }
        Ok(Self { buf: Rc::clone(&self.buf), shape: shape.to_vec(), len })
    }

    /// The whole tensor as a binding.
    pub(super) fn whole(&self) -> Binding<'_> {
        Binding { tensor: self, offset: 0, bytes: self.len as u64 * 4 }
    }

    /// Elements `start..start + len` as a binding (`start * 4` must be a multiple of the
    /// device's `minStorageBufferOffsetAlignment`; the launcher checks).
    pub(super) fn range(&self, start: usize, len: usize) -> Binding<'_> {
        Binding { tensor: self, offset: start as u64 * 4, bytes: len as u64 * 4 }
    }
}

/// A storage binding: a tensor, or a range of one (how a tensor larger than one binding is
/// split across launches).
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    pub(super) tensor: &'a GpuTensor,
    pub(super) offset: u64,
    pub(super) bytes: u64,
}

impl Binding<'_> {
    fn resource(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.tensor.buf.buffer(),
            offset: self.offset,
            size: NonZeroU64::new(self.bytes),
        })
    }
}

impl std::fmt::Debug for GpuTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuTensor{:?}", self.shape)
    }
}

/// Takes a buffer of at least `bytes` bytes from the pool, or creates one.
pub(super) fn acquire(
    device: &wgpu::Device,
    pool: &Rc<RefCell<PoolState>>,
    bytes: u64,
) -> PooledBuffer {
    let class = size_class(bytes);
    let reused = pool.try_borrow_mut().ok().and_then(|mut p| {
        let b = p.free.get_mut(&class).and_then(Vec::pop);
        if b.is_some() {
            p.idle_bytes -= class;
            p.hits += 1;
        } else {
            p.misses += 1;
        }
        b
    });
    let buffer = reused.unwrap_or_else(|| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("convlab tensor"),
            size: class,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    });
    PooledBuffer { buffer: Some(buffer), class, pool: Rc::clone(pool) }
}

pub(super) fn new_tensor(buf: PooledBuffer, shape: &[usize]) -> GpuTensor {
    GpuTensor { buf: Rc::new(buf), shape: shape.to_vec(), len: shape.iter().product() }
}

/// Workgroup counts `(x, y)` covering `invocations`, within the per-dimension limit.
pub fn dispatch_size(op: &str, invocations: u64, max_per_dim: u32) -> Result<(u32, u32)> {
    let groups = invocations.div_ceil(WORKGROUP).max(1);
    let max = u64::from(max_per_dim.max(1));
    let x = groups.min(max);
    let y = groups.div_ceil(x);
    if y > max {
        return Err(Error::limit(
            op,
            "x",
            format!(
                "needs {groups} workgroups, over this device's \
                 maxComputeWorkgroupsPerDimension^2 ({})",
                max * max
            ),
        ));
    }
    Ok((x as u32, y as u32))
}

/// Checks that `t` has `shape`, or an error naming the op and the argument (before anything
/// reaches the GPU).
pub(super) fn expect_shape(op: &str, arg: &str, t: &GpuTensor, shape: &[usize]) -> Result<()> {
    if t.shape() == shape {
        Ok(())
    } else {
        Err(Error::invalid(op, arg, format!("has shape {:?}, expected {shape:?}", t.shape())))
    }
}

/// Greatest common divisor (1 for `gcd(0, 0)`): chunk sizes that keep binding offsets aligned.
pub(super) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// A size as a shader's u32, or an error naming the argument.
pub fn u32_of(op: &str, arg: &str, v: usize) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::limit(op, arg, format!("{v} does not fit the GPU's 32-bit indices")))
}

/// Records one dispatch of `spec` into `encoder`. `params` is the uniform struct as words
/// (f32 fields as `to_bits`), its first two words left for `wg_x` and `count`.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    compiled: &Compiled,
    spec: &KernelSpec,
    encoder: &mut wgpu::CommandEncoder,
    params: &[u32],
    inputs: &[Binding],
    outputs: &[Binding],
    count: u32,
    grid: (u32, u32),
    timestamps: Option<(&wgpu::QuerySet, u32)>,
) {
    debug_assert_eq!(inputs.len(), spec.inputs);
    debug_assert_eq!(outputs.len(), spec.outputs);
    let mut words = params.to_vec();
    words.resize(words.len().div_ceil(4).max(1) * 4, 0);
    words[0] = grid.0;
    words[1] = count;
    let uniform = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(spec.entry),
        size: (words.len() * 4) as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    queue.write_buffer(&uniform, 0, bytemuck::cast_slice(&words));
    let mut entries =
        vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
    for (i, t) in inputs.iter().chain(outputs).enumerate() {
        entries.push(wgpu::BindGroupEntry { binding: 1 + i as u32, resource: t.resource() });
    }
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(spec.entry),
        layout: &compiled.layout,
        entries: &entries,
    });
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(spec.entry),
        timestamp_writes: timestamps.map(|(query_set, first)| wgpu::ComputePassTimestampWrites {
            query_set,
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        }),
    });
    pass.set_pipeline(&compiled.pipeline);
    pass.set_bind_group(0, &bind, &[]);
    pass.dispatch_workgroups(grid.0, grid.1, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_by_at_most_a_quarter() {
        assert_eq!(size_class(1), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 320);
        assert_eq!(size_class(1 << 20), 1 << 20);
        assert_eq!(size_class((1 << 20) + 1), (1 << 20) + (1 << 18));
        for b in [300u64, 5000, 123_457, 9_999_999] {
            let c = size_class(b);
            assert!(c >= b && (c - b) * 4 <= c, "{b} -> {c}");
        }
    }

    #[test]
    fn dispatch_stays_inside_the_per_dimension_limit() {
        assert_eq!(dispatch_size("t", 64, 65535).unwrap(), (1, 1));
        assert_eq!(dispatch_size("t", 65, 65535).unwrap(), (2, 1));
        let (x, y) = dispatch_size("t", 64 * 70_000, 65535).unwrap();
        assert!(x <= 65535 && u64::from(x) * u64::from(y) >= 70_000);
        assert!(dispatch_size("t", 64 * 5 * 5 + 1, 4).is_err());
    }
}
