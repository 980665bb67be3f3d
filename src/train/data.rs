//! Data sets: IDX files (MNIST's and Fashion-MNIST's format), splits, seeded shuffles and
//! batches.
//!
//! IDX (LeCun's format): a big-endian magic `0x00 0x00 <type> <dims>` (type 0x08 = unsigned
//! bytes), one big-endian u32 per dimension, then the data. Images are `[n, rows, cols]`
//! (`0x00000803`), or `[n, rows, cols, channels]` (`0x00000804`, convlab's own packing of
//! colour images, channels last), labels `[n]` (`0x00000801`). Every way a file can be wrong (wrong magic,
//! truncated, sizes that overflow, counts that differ between images and labels, labels past
//! the class count) gets an error naming the file.

use crate::error::{Error, Result};
use crate::nn::weights::SplitMix64;
use crate::tensor::Tensor;

/// The most classes a data set may have (the confusion matrix is classes x classes).
pub const MAX_CLASSES: usize = 4096;
/// The most images one IDX file may hold (MNIST's training set has 60,000).
pub const MAX_IMAGES: usize = 1 << 22;
/// The most channels a pixel of a 4-D IDX image file may have.
pub const MAX_CHANNELS: usize = 4;

/// A labelled image set kept as bytes (a quarter of the f32 size), converted per batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Pixels, `[n, height, width, channels]` row-major, 0..=255.
    pub pixels: Vec<u8>,
    /// `[height, width, channels]` of one image.
    pub shape: [usize; 3],
    /// One label per image.
    pub labels: Vec<u32>,
    /// Number of classes.
    pub classes: usize,
    /// Inputs are `(pixel / 255 - mean) / std`.
    pub normalization: (f32, f32),
}

fn idx_error(file: &str, detail: impl std::fmt::Display) -> Error {
    Error::invalid("data", file, detail)
}

/// Parses an IDX file of unsigned bytes with `want_dims` dimensions: `(dims, data)`.
pub fn parse_idx<'a>(
    file: &str,
    bytes: &'a [u8],
    want_dims: usize,
) -> Result<(Vec<usize>, &'a [u8])> {
    if bytes.len() < 4 {
        return Err(idx_error(file, format!("{} bytes is too short for an IDX file", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(idx_error(
            file,
            format!(
                "not an IDX file of unsigned bytes (magic {:02x} {:02x} {:02x} {:02x}; expected 00 00 08 0{want_dims}); a gzip file starts 1f 8b and must be decompressed first",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let dims = bytes[3] as usize;
    if dims != want_dims {
        return Err(idx_error(file, format!("has {dims} dimensions, expected {want_dims}")));
    }
    let header = 4 + 4 * dims;
    if bytes.len() < header {
        return Err(idx_error(file, "is cut short inside its header"));
    }
    let sizes: Vec<usize> = (0..dims)
        .map(|d| {
            u32::from_be_bytes([
                bytes[4 + 4 * d],
                bytes[5 + 4 * d],
                bytes[6 + 4 * d],
                bytes[7 + 4 * d],
            ]) as usize
        })
        .collect();
    let count = sizes.iter().try_fold(1usize, |a, &s| a.checked_mul(s)).filter(|&c| c > 0);
    let Some(count) = count else {
        return Err(idx_error(file, format!("sizes {sizes:?} are empty or overflow")));
    };
    if sizes[0] > MAX_IMAGES {
        return Err(idx_error(file, format!("{} items, over the limit of {MAX_IMAGES}", sizes[0])));
    }
    let data = &bytes[header..];
    if data.len() < count {
        return Err(idx_error(
            file,
            format!(
                "is truncated: sizes {sizes:?} need {count} bytes of data, the file has {}",
                data.len()
            ),
        ));
    }
    Ok((sizes, &data[..count]))
}

impl Dataset {
    /// Images and labels from IDX files (`[n, rows, cols]` or `[n, rows, cols, channels]`
    /// bytes and `[n]` labels below `classes`).
    pub fn from_idx(
        images_file: &str,
        images: &[u8],
        labels_file: &str,
        labels: &[u8],
        classes: usize,
        normalization: (f32, f32),
    ) -> Result<Self> {
        if !(2..=MAX_CLASSES).contains(&classes) {
            return Err(idx_error(
                labels_file,
                format!("classes must be from 2 to {MAX_CLASSES}, got {classes}"),
            ));
        }
        // Three dimensions (grey) unless the header says four (channels last).
        let image_dims = if images.get(3) == Some(&4) { 4 } else { 3 };
        let (dims, pixels) = parse_idx(images_file, images, image_dims)?;
        let channels = dims.get(3).copied().unwrap_or(1);
        if channels > MAX_CHANNELS {
            return Err(idx_error(
                images_file,
                format!("has {channels} channels per pixel, more than {MAX_CHANNELS}"),
            ));
        }
        let (ldims, raw_labels) = parse_idx(labels_file, labels, 1)?;
        if ldims[0] != dims[0] {
            return Err(idx_error(
                labels_file,
                format!("has {} labels but {images_file} has {} images", ldims[0], dims[0]),
            ));
        }
        if let Some((i, &l)) = raw_labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
            return Err(idx_error(
                labels_file,
                format!("label {l} at index {i} is not below the {classes} classes"),
            ));
        }
        Ok(Self {
            pixels: pixels.to_vec(),
            shape: [dims[1], dims[2], channels],
            labels: raw_labels.iter().map(|&l| l as u32).collect(),
            classes,
            normalization,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A 64-bit FNV-1a digest of the images, labels, shape, classes and normalisation: a
    /// checkpoint records it so that it continues only on the data it was trained on.
    pub fn fingerprint(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for d in self.shape {
            eat(&(d as u64).to_le_bytes());
        }
        eat(&(self.classes as u64).to_le_bytes());
        eat(&self.normalization.0.to_le_bytes());
        eat(&self.normalization.1.to_le_bytes());
        for l in &self.labels {
            eat(&l.to_le_bytes());
        }
        eat(&self.pixels);
        h
    }

    /// Splits off the last `n` images (the chapter keeps the last 5,000 training images for
    /// validation): `(first, last)`.
    pub fn split_last(&self, n: usize) -> Result<(Self, Self)> {
        if n == 0 || n >= self.len() {
            return Err(Error::invalid(
                "data",
                "validation",
                format!("{n} of {} images cannot be held out", self.len()),
            ));
        }
        let cut = self.len() - n;
        let per = self.shape.iter().product::<usize>();
        let part = |range: std::ops::Range<usize>| Self {
            pixels: self.pixels[range.start * per..range.end * per].to_vec(),
            labels: self.labels[range].to_vec(),
            ..self.clone_meta()
        };
        Ok((part(0..cut), part(cut..self.len())))
    }

    fn clone_meta(&self) -> Self {
        Self {
            pixels: Vec::new(),
            shape: self.shape,
            labels: Vec::new(),
            classes: self.classes,
            normalization: self.normalization,
        }
    }

    /// The images at `indices` as a normalised NHWC batch, and their labels.
    pub fn batch(&self, indices: &[usize]) -> Result<(Tensor, Vec<u32>)> {
        let per = self.shape.iter().product::<usize>();
        let (mean, std) = self.normalization;
        let scale = 1.0 / (255.0 * std);
        let mut data = Vec::with_capacity(indices.len() * per);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let Some(&label) = self.labels.get(i) else {
                return Err(Error::invalid(
                    "data",
                    "batch",
                    format!("index {i} is past the {} images", self.len()),
                ));
            };
            data.extend(
                self.pixels[i * per..(i + 1) * per].iter().map(|&p| p as f32 * scale - mean / std),
            );
            labels.push(label);
        }
        let mut shape = vec![indices.len()];
        shape.extend_from_slice(&self.shape);
        Ok((Tensor::new("data", "batch", shape, data)?, labels))
    }
}

/// A seeded permutation of `0..n` (Fisher-Yates with SplitMix64): the batch order of an epoch.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// The largest decompressed file accepted (MNIST's training images are 47 MB).
pub const MAX_UNGZIPPED_BYTES: usize = 256 << 20;

/// `bytes` decompressed when they are a gzip file (RFC 1952: a header, raw DEFLATE, a
/// trailer), else returned as they are. Errors name `file`.
pub fn maybe_gunzip<'a>(file: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let bad = |d: &str| idx_error(file, format!("is not a valid gzip file ({d})"));
    if bytes.len() < 18 || bytes[2] != 8 {
        return Err(bad("header"));
    }
    let flags = bytes[3];
    let mut at = 10usize;
    if flags & 4 != 0 {
        let extra =
            u16::from_le_bytes([bytes[at], bytes.get(at + 1).copied().unwrap_or(0)]) as usize;
        at += 2 + extra;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            let end = bytes
                .get(at..)
                .and_then(|b| b.iter().position(|&c| c == 0))
                .ok_or_else(|| bad("name"))?;
            at += end + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    let body = bytes.get(at..).ok_or_else(|| bad("cut short"))?;
    miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_UNGZIPPED_BYTES)
        .map(std::borrow::Cow::Owned)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                idx_error(file, format!("decompresses past {MAX_UNGZIPPED_BYTES} bytes"))
            }
            _ => bad("the data is damaged or cut short"),
        })
}
