//! IDX parsing and batches: every malformed file gets a message naming it.

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
}
