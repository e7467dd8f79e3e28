//! NumPy's `.npy` format (version 1.0, little-endian, C order): the one writer the workspace
//! has. Users hand observations to `proxyland solve` in it (read in `observations`), the
//! benches hand arrays to the reference scripts in it, and the tests write fixtures with it.

/// An element type `.npy` can describe.
pub trait Element: Copy {
    /// The dtype descriptor, e.g. `<f8`.
    const DESCR: &'static str;
    /// Appends the value's little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
}

impl Element for f64 {
    const DESCR: &'static str = "<f8";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for i64 {
    const DESCR: &'static str = "<i8";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The bytes of an `.npy` file holding `data` (row-major) with `shape`.
///
/// ```
/// let bytes = proxyland_dataset::npy::encode(&[2, 2], &[1.0f64, 2.0, 3.0, 4.0]);
/// assert!(bytes.starts_with(b"\x93NUMPY"));
/// assert_eq!(bytes.len() % 64, 32); // a 64-aligned header, then 4 × 8 bytes
/// ```
///
/// # Panics
///
/// When `shape` does not hold `data.len()` values: a caller's bug, not a user's input.
pub fn encode<T: Element>(shape: &[usize], data: &[T]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape and data disagree"
    );
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        T::DESCR,
        shape_text
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.write_le(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_data_follows_it() {
        let bytes = encode(&[2, 3], &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"), "{header}");
        assert!(header.ends_with('\n'));
        let first = f64::from_le_bytes(bytes[10 + header_len..18 + header_len].try_into().unwrap());
        assert_eq!(first, 1.0);
        assert_eq!(bytes.len(), 10 + header_len + 6 * 8);
    }

    #[test]
    fn one_dimensional_shapes_keep_the_trailing_comma() {
        let bytes = encode(&[3], &[1i64, 2, 3]);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("'shape': (3,)"));
        assert!(text.contains("'<i8'"));
    }
}
