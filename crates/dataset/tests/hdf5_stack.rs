//! The HDF5 stack works as the dataset format needs it: chunked, shuffled and deflated 2D data
//! and string/number attributes survive a round trip bit for bit.

use hdf5::types::VarLenUnicode;
use ndarray::Array2;

#[test]
fn chunked_shuffled_deflated_2d_array_and_attributes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roundtrip.h5");
    let data = Array2::from_shape_fn((37, 41), |(i, j)| {
        (i as f64 * 0.37).sin() * j as f64 + 1e-300
    });
    {
        let file = hdf5::File::create(&path).unwrap();
        let ds = file
            .new_dataset_builder()
            .chunk((1, 41))
            .shuffle()
            .deflate(4)
            .with_data(&data)
            .create("trajectories")
            .unwrap();
        let note: VarLenUnicode = "config = \"ünïcode\"".parse().unwrap();
        ds.new_attr::<VarLenUnicode>()
            .create("note")
            .unwrap()
            .write_scalar(&note)
            .unwrap();
        file.new_attr::<u64>()
            .create("seed")
            .unwrap()
            .write_scalar(&7u64)
            .unwrap();
    }
    let file = hdf5::File::open(&path).unwrap();
    let ds = file.dataset("trajectories").unwrap();
    assert_eq!(ds.chunk(), Some(vec![1, 41]));
    let filters = ds.filters();
    assert!(
        filters
            .iter()
            .any(|f| matches!(f, hdf5::filters::Filter::Shuffle)),
        "{filters:?}"
    );
    assert!(
        filters
            .iter()
            .any(|f| matches!(f, hdf5::filters::Filter::Deflate(4))),
        "{filters:?}"
    );
    let back: Array2<f64> = ds.read_2d().unwrap();
    assert_eq!(back, data);
    let note: VarLenUnicode = ds.attr("note").unwrap().read_scalar().unwrap();
    assert_eq!(note.as_str(), "config = \"ünïcode\"");
    let seed: u64 = file.attr("seed").unwrap().read_scalar().unwrap();
    assert_eq!(seed, 7);
}
