//! What a run logs: [`Values`] (scalars, maps, JSON, images) and [`Image`].

use std::fmt::Write as _;

use super::WandbError;

/// Keys the W&B client reserves for itself in history rows and the summary.
const RESERVED: [&str; 4] = ["_step", "_runtime", "_timestamp", "_wandb"];

/// One logged value.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A float; non-finite values are written as W&B's client writes them (`NaN`, `Infinity`).
    Number(f64),
    /// An integer.
    Integer(i64),
    /// A string.
    Text(String),
    /// Any JSON; objects become nested keys (`genre.Drama`), as the official client does.
    Json(serde_json::Value),
    /// A map of floats, such as a distribution; becomes nested keys.
    Map(Vec<(String, f64)>),
    /// A PNG image, written under `files/media/images/`.
    Image(Image),
}

/// The values of one [`WandbRun::log`] call (one history row) or one summary update.
///
/// Keys are W&B keys: any non-empty text except the client's own `_step`, `_runtime`,
/// `_timestamp` and `_wandb`. A key added twice keeps its last value.
///
/// ```
/// use recwatch::tracking::wandb::Values;
///
/// let row = Values::new()
///     .add_scalar("train_loss", 0.42)
///     .add_integer("epoch", 3)
///     .add_map("genre_distribution", [("Drama", 0.4), ("Comedy", 0.6)]);
/// assert_eq!(row.len(), 3);
/// ```
///
/// [`WandbRun::log`]: super::WandbRun::log
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Values {
    pub(crate) entries: Vec<(String, Entry)>,
}

impl Values {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(mut self, key: impl Into<String>, entry: Entry) -> Self {
        let key = key.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, entry));
        self
    }

    /// Adds a float (a loss, an error, a rate). `NaN` and infinities are kept, written as the
    /// official client writes them.
    pub fn add_scalar(self, key: impl Into<String>, value: f64) -> Self {
        self.add(key, Entry::Number(value))
    }

    /// Adds an integer (a count, an epoch).
    pub fn add_integer(self, key: impl Into<String>, value: i64) -> Self {
        self.add(key, Entry::Integer(value))
    }

    /// Adds a string.
    pub fn add_text(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.add(key, Entry::Text(value.into()))
    }

    /// Adds a map of floats (a genre distribution, per-class scores). W&B shows it as nested
    /// keys `key.name`, as it does for a logged Python dict.
    pub fn add_map<K: Into<String>>(
        self,
        key: impl Into<String>,
        map: impl IntoIterator<Item = (K, f64)>,
    ) -> Self {
        let map = map.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self.add(key, Entry::Map(map))
    }

    /// Adds any JSON value; objects become nested keys as for [`add_map`](Self::add_map).
    pub fn add_json(self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.add(key, Entry::Json(value))
    }

    /// Adds an image. Its PNG file is written under the run's `files/media/images/` by the
    /// background writer, and the row references it as W&B's `image-file` value.
    pub fn add_image(self, key: impl Into<String>, image: Image) -> Self {
        self.add(key, Entry::Image(image))
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks every key (on the caller's thread, so a bad key is reported where it was made).
    pub(crate) fn validate(&self) -> Result<(), WandbError> {
        for (key, entry) in &self.entries {
            check_key(key)?;
            if let Entry::Map(map) = entry {
                for (k, _) in map {
                    if k.is_empty() {
                        return Err(WandbError::InvalidKey {
                            key: format!("{key}.{k}"),
                            reason: "a map key is empty",
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks a top-level key of a row, the summary or the config.
pub(crate) fn check_key(key: &str) -> Result<(), WandbError> {
    if key.is_empty() {
        return Err(WandbError::InvalidKey {
            key: String::new(),
            reason: "keys must not be empty",
        });
    }
    if RESERVED.contains(&key) {
        return Err(WandbError::InvalidKey {
            key: key.to_owned(),
            reason: "the W&B client reserves this key",
        });
    }
    Ok(())
}

/// A PNG image to log, such as a performance plot.
///
/// ```
/// use recwatch::tracking::wandb::Image;
///
/// // A 2×1 image: one red and one blue pixel.
/// let image = Image::from_rgb8(2, 1, &[255, 0, 0, 0, 0, 255])?.with_caption("two pixels");
/// assert_eq!((image.width(), image.height()), (2, 1));
/// assert!(Image::from_png(image.png().to_vec()).is_ok());
/// # Ok::<(), recwatch::WandbError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Image {
    png: Vec<u8>,
    width: u32,
    height: u32,
    caption: Option<String>,
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

impl Image {
    /// An image from PNG-encoded bytes (for example a plot rendered with plotters). Width and
    /// height are read from the PNG header.
    ///
    /// # Errors
    ///
    /// [`WandbError::InvalidImage`] when the bytes do not start with a PNG signature and header.
    pub fn from_png(png: Vec<u8>) -> Result<Self, WandbError> {
        let invalid = |reason| WandbError::InvalidImage { reason };
        if png.len() < 8 + 8 + 13 || png[..8] != PNG_SIGNATURE {
            return Err(invalid("not a PNG file (no PNG signature)"));
        }
        if &png[12..16] != b"IHDR" || png[8..12] != 13u32.to_be_bytes() {
            return Err(invalid("the PNG file does not start with an IHDR chunk"));
        }
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        if width == 0 || height == 0 {
            return Err(invalid("the PNG header has a zero width or height"));
        }
        Ok(Self {
            png,
            width,
            height,
            caption: None,
        })
    }

    /// An image from 8-bit RGB pixels, row by row (`3 × width × height` bytes), stored as an
    /// uncompressed PNG.
    ///
    /// # Errors
    ///
    /// [`WandbError::InvalidImage`] when a dimension is zero or the pixel buffer has the wrong
    /// length.
    pub fn from_rgb8(width: u32, height: u32, pixels: &[u8]) -> Result<Self, WandbError> {
        let invalid = |reason| WandbError::InvalidImage { reason };
        if width == 0 || height == 0 {
            return Err(invalid("width and height must be positive"));
        }
        let row = (width as usize)
            .checked_mul(3)
            .ok_or(invalid("the image is too large"))?;
        if Some(pixels.len()) != row.checked_mul(height as usize) {
            return Err(invalid("the pixel buffer is not 3 × width × height bytes"));
        }
        Ok(Self {
            png: encode_png(width, height, row, pixels),
            width,
            height,
            caption: None,
        })
    }

    /// Sets the caption W&B shows under the image. Defaults to none.
    #[must_use]
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG bytes.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    pub(crate) fn caption(&self) -> Option<&str> {
        self.caption.as_deref()
    }
}

/// A PNG with one IDAT of stored (uncompressed) deflate blocks; filter type 0 on every row.
fn encode_png(width: u32, height: u32, row: usize, pixels: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in pixels.chunks(row) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    // zlib stream: header (deflate, 32 KiB window, no dictionary, fastest), stored blocks,
    // Adler-32 of the raw data (RFC 1950, RFC 1951 §3.2.4).
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = PNG_SIGNATURE.to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, filter 0, no interlace
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &z[..]), (b"IEND", &[][..])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    png
}

/// JSON text of a float as W&B's Python client writes it: finite values as JSON numbers,
/// others as `NaN`, `Infinity`, `-Infinity` (which wandb-core's JSON reader accepts).
pub(crate) fn float_json(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        // serde_json formats finite floats with the shortest round-trip representation.
        serde_json::Number::from_f64(v).map_or_else(|| "null".to_owned(), |n| n.to_string())
    }
}

/// JSON text of a string.
pub(crate) fn text_json(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Flattens a JSON value into `(nested key, value_json)` leaves under `path`, as the official
/// client does for dicts: objects recurse (an empty object stays a leaf `{}`), everything else
/// is a leaf.
pub(crate) fn flatten_json(
    path: &mut Vec<String>,
    value: &serde_json::Value,
    out: &mut Vec<(Vec<String>, String)>,
) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(k.clone());
                flatten_json(path, v, out);
                path.pop();
            }
        }
        other => out.push((path.clone(), other.to_string())),
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_the_python_client_writes_them() {
        // python3 -c "import json; print(json.dumps([0.1, 1.0, 1e300, float('nan'), float('inf')]))"
        // prints [0.1, 1.0, 1e+300, NaN, Infinity]; wandb-core reads either exponent spelling.
        assert_eq!(float_json(0.1), "0.1");
        assert_eq!(float_json(1.0), "1.0");
        assert_eq!(float_json(f64::NAN), "NaN");
        assert_eq!(float_json(f64::INFINITY), "Infinity");
        assert_eq!(float_json(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(text_json("a\"b"), r#""a\"b""#);
    }

    #[test]
    fn json_objects_become_nested_keys() {
        let mut out = Vec::new();
        let v = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": {}, "e": "x"});
        flatten_json(&mut vec!["k".into()], &v, &mut out);
        let keys: Vec<String> = out
            .iter()
            .map(|(k, v)| format!("{}={v}", k.join(".")))
            .collect();
        assert_eq!(keys, ["k.a.b=1", "k.a.c=[1,2]", "k.d={}", "k.e=\"x\""]);
    }

    #[test]
    fn keys_are_checked() {
        assert!(Values::new().add_scalar("loss", 1.0).validate().is_ok());
        for bad in ["", "_step", "_wandb"] {
            let err = Values::new().add_scalar(bad, 1.0).validate().unwrap_err();
            assert!(matches!(err, WandbError::InvalidKey { .. }), "{bad}");
        }
        let err = Values::new()
            .add_map("g", [("", 1.0)])
            .validate()
            .unwrap_err();
        assert!(matches!(err, WandbError::InvalidKey { .. }));
    }

    #[test]
    fn a_key_added_twice_keeps_its_last_value() {
        let v = Values::new().add_scalar("a", 1.0).add_integer("a", 2);
        assert_eq!(v.len(), 1);
        assert!(matches!(v.entries[0].1, Entry::Integer(2)));
    }

    #[test]
    fn rgb8_images_are_valid_pngs() {
        let pixels: Vec<u8> = (0..3 * 70_000u32).map(|i| (i % 251) as u8).collect();
        // More than 65535 bytes of raw data: several stored blocks.
        let image = Image::from_rgb8(350, 200, &pixels).unwrap();
        let again = Image::from_png(image.png().to_vec()).unwrap();
        assert_eq!((again.width(), again.height()), (350, 200));
        assert!(Image::from_rgb8(0, 1, &[]).is_err());
        assert!(Image::from_rgb8(2, 2, &[0; 11]).is_err());
        assert!(Image::from_png(b"GIF89a".to_vec()).is_err());
    }
}
