//! IDX parsing and batches (grey `[n, rows, cols]` and channels-last `[n, rows, cols,
//! channels]` images): every malformed file gets a message naming it.

use convlab::train::data::{parse_idx, shuffled};
use convlab::train::Dataset;

fn idx(magic: [u8; 4], sizes: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_vec();
    for s in sizes {
        b.extend_from_slice(&s.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

#[test]
fn images_and_labels_parse_and_batch() {
    let images = idx([0, 0, 8, 3], &[3, 2, 2], &[0, 255, 51, 102, 1, 2, 3, 4, 9, 9, 9, 9]);
    let labels = idx([0, 0, 8, 1], &[3], &[2, 0, 1]);
    let d = Dataset::from_idx("img", &images, "lab", &labels, 3, (0.0, 1.0)).unwrap();
    assert_eq!((d.len(), d.shape), (3, [2, 2, 1]));
    let (x, l) = d.batch(&[2, 0]).unwrap();
    assert_eq!(x.shape(), [2, 2, 2, 1]);
    assert_eq!(l, vec![1, 2]);
    assert!((x.data()[4] - 0.0).abs() < 1e-7 && (x.data()[5] - 1.0).abs() < 1e-7);
    let (train, valid) = d.split_last(1).unwrap();
    assert_eq!((train.len(), valid.len(), valid.labels[0]), (2, 1, 1));
    let order = shuffled(10, 3);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_eq!(order, shuffled(10, 3));
    assert_ne!(order, shuffled(10, 4));
}

#[test]
fn bad_files_are_named() {
    let labels = idx([0, 0, 8, 1], &[2], &[0, 1]);
    let msg = |images: &[u8], labels: &[u8]| {
        Dataset::from_idx("train-images", images, "train-labels", labels, 10, (0.0, 1.0))
            .unwrap_err()
            .message()
            .to_string()
    };
    assert!(
        msg(&[0x1f, 0x8b, 8, 0, 0], &labels).contains("gzip"),
        "{}",
        msg(&[0x1f, 0x8b, 8, 0, 0], &labels)
    );
    assert!(msg(&idx([0, 0, 8, 3], &[2, 2, 2], &[1, 2, 3]), &labels).contains("truncated"));
    assert!(msg(&idx([0, 0, 8, 3], &[3, 1, 1], &[1, 2, 3]), &labels)
        .contains("has 2 labels but train-images has 3 images"));
    assert!(msg(&idx([0, 0, 8, 3], &[u32::MAX, u32::MAX, u32::MAX], &[]), &labels)
        .contains("train-images"));
    let bad_label = idx([0, 0, 8, 1], &[2], &[0, 12]);
    assert!(
        msg(&idx([0, 0, 8, 3], &[2, 1, 1], &[1, 2]), &bad_label).contains("label 12 at index 1")
    );
    assert!(parse_idx("x", &[0, 0, 8], 1).unwrap_err().message().contains("too short"));
    let images = idx([0, 0, 8, 3], &[2, 1, 1], &[1, 2]);
    let e = Dataset::from_idx("i", &images, "l", &labels, 1 << 31, (0.0, 1.0)).unwrap_err();
    assert!(e.message().contains("classes must be from 2 to"), "{e}");
}

#[test]
fn gzip_files_are_read_and_damaged_ones_named() {
    use convlab::train::data::maybe_gunzip;
    let raw = idx([0, 0, 8, 1], &[3], &[1, 2, 3]);
    let mut gz = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
    gz.extend_from_slice(b"labels\0");
    gz.extend(miniz_oxide::deflate::compress_to_vec(&raw, 6));
    gz.extend_from_slice(&[0; 8]); // CRC and size: not checked, the IDX checks follow
    assert_eq!(maybe_gunzip("l.gz", &gz).unwrap().as_ref(), raw.as_slice());
    assert_eq!(maybe_gunzip("l", &raw).unwrap().as_ref(), raw.as_slice());
    let cut = &gz[..gz.len() / 2];
    assert!(maybe_gunzip("l.gz", cut).unwrap_err().message().contains("l.gz"));
}

#[test]
fn augmentation_shifts_and_flips_whole_images() {
    use convlab::train::augment::Augment;
    use convlab::Tensor;
    let x = Tensor::new("t", "x", vec![2, 3, 3, 1], (1..=18).map(|v| v as f32).collect()).unwrap();
    assert_eq!(Augment::default().apply(&x, 1, 0.0).unwrap(), x);
    let flip = Augment { max_shift: 0, flip: true, ..Augment::default() };
    let mut flipped = 0;
    for seed in 0..20 {
        let y = flip.apply(&x, seed, 0.0).unwrap();
        for b in 0..2 {
            let img = &y.data()[b * 9..(b + 1) * 9];
            let orig: Vec<f32> = x.data()[b * 9..(b + 1) * 9].to_vec();
            let mirrored: Vec<f32> = (0..9).map(|i| orig[(i / 3) * 3 + 2 - i % 3]).collect();
            assert!(img == orig.as_slice() || img == mirrored.as_slice());
            flipped += usize::from(img == mirrored.as_slice());
        }
    }
    assert!(flipped > 5 && flipped < 35, "{flipped} of 40 flipped");
    let shift = Augment { max_shift: 1, flip: false, ..Augment::default() };
    let y = shift.apply(&x, 3, -1.0).unwrap();
    // Every value is an original pixel of the same image or the fill.
    for b in 0..2 {
        for v in &y.data()[b * 9..(b + 1) * 9] {
            assert!(*v == -1.0 || x.data()[b * 9..(b + 1) * 9].contains(v));
        }
    }
    assert_eq!(shift.apply(&x, 3, -1.0).unwrap(), y, "seeded");
}

#[test]
fn four_dimensional_idx_images_keep_their_channels() {
    let mut images = vec![0, 0, 8, 4];
    for s in [2u32, 2, 1, 3] {
        images.extend_from_slice(&s.to_be_bytes());
    }
    images.extend((0..12).map(|v| v as u8 * 20));
    let labels = [0u8, 0, 8, 1, 0, 0, 0, 2, 1, 0];
    let d = Dataset::from_idx("rgb", &images, "l", &labels, 2, (0.0, 1.0)).unwrap();
    assert_eq!((d.len(), d.shape), (2, [2, 1, 3]));
    let (x, _) = d.batch(&[1]).unwrap();
    assert_eq!(x.shape(), [1, 2, 1, 3]);
    assert!((x.data()[0] - 120.0 / 255.0).abs() < 1e-6);
    let mut nine = images.clone();
    nine[19] = 9; // nine channels
    nine.resize(20 + 36, 0);
    let e = Dataset::from_idx("rgb", &nine, "l", &labels, 2, (0.0, 1.0)).unwrap_err();
    assert!(e.message().contains("rgb") && e.message().contains("9 channels"), "{e}");
    let e = Dataset::from_idx("rgb", &images[..20], "l", &labels, 2, (0.0, 1.0)).unwrap_err();
    assert!(e.message().contains("rgb") && e.message().contains("truncated"), "{e}");
    let two_d = [0u8, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7];
    let e = Dataset::from_idx("flat", &two_d, "l", &labels, 2, (0.0, 1.0)).unwrap_err();
    assert!(e.message().contains("flat") && e.message().contains("dimensions"), "{e}");
}
