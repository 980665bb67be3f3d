//! Reading a layer's Keras config (a JSON object) into typed values, with errors that name the
//! layer, the key and the value received.
//!
//! Keras writes a size either as one integer or as a pair (`kernel_size: 3` or `[3, 3]`); both
//! are accepted. Padding is `"same"`, `"valid"`, or convlab's explicit `[[top, bottom], [left,
//! right]]`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::tensor::Padding;

/// The largest size accepted for one hyper-parameter (filters, units, kernel extent, stride):
/// far past any model that fits a browser, small enough that products of a few stay in `u64`.
pub const MAX_HYPER: usize = 1 << 20;

/// A layer's config being read: the layer's name and type for messages, and the keys not yet
/// read (so unknown keys can be reported).
pub struct Config<'a> {
    layer: &'a str,
    class: &'a str,
    map: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Config<'a> {
    /// Starts reading `map`, the config of layer `layer` of type `class`.
    pub fn new(layer: &'a str, class: &'a str, map: &'a Map<String, Value>) -> Self {
        Self { layer, class, map, read: Vec::new() }
    }

    /// An error about `key`: `layer 'name' (Class): key: detail`.
    pub fn error(&self, key: &str, detail: impl std::fmt::Display) -> Error {
        layer_error(self.layer, self.class, key, detail)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required positive integer (at most [`MAX_HYPER`]).
    pub fn positive(&mut self, key: &'static str) -> Result<usize> {
        match self.get(key) {
            Some(v) => self.positive_value(key, v),
            None => Err(self.error(key, "is required")),
        }
    }

    /// A positive integer with a default.
    pub fn positive_or(&mut self, key: &'static str, default: usize) -> Result<usize> {
        match self.get(key) {
            Some(v) => self.positive_value(key, v),
            None => Ok(default),
        }
    }

    fn positive_value(&self, key: &str, v: &Value) -> Result<usize> {
        match v.as_u64() {
            Some(n) if n >= 1 && n <= MAX_HYPER as u64 => Ok(n as usize),
            _ => Err(self
                .error(key, format!("must be an integer from 1 to {MAX_HYPER}, got {}", show(v)))),
        }
    }

    /// A pair of positive integers, given as one integer or `[a, b]`; `None` when absent.
    pub fn pair(&mut self, key: &'static str) -> Result<Option<[usize; 2]>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        match v {
            Value::Array(items) if items.len() == 2 => Ok(Some([
                self.positive_value(key, &items[0])?,
                self.positive_value(key, &items[1])?,
            ])),
            Value::Array(_) => Err(self.error(
                key,
                format!("must be one integer or a pair [height, width], got {}", show(v)),
            )),
            _ => {
                let n = self.positive_value(key, v)?;
                Ok(Some([n, n]))
            }
        }
    }

    /// A pair with a default.
    pub fn pair_or(&mut self, key: &'static str, default: [usize; 2]) -> Result<[usize; 2]> {
        Ok(self.pair(key)?.unwrap_or(default))
    }

    /// `"same"`, `"valid"` or `[[top, bottom], [left, right]]`.
    pub fn padding(&mut self, default: Padding) -> Result<Padding> {
        let Some(v) = self.get("padding") else { return Ok(default) };
        match v {
            Value::String(s) if s.eq_ignore_ascii_case("same") => Ok(Padding::Same),
            Value::String(s) if s.eq_ignore_ascii_case("valid") => Ok(Padding::Valid),
            Value::Array(_) => {
                let [[top, bottom], [left, right]] = self.explicit_pads("padding", v)?;
                Ok(Padding::Explicit { top, bottom, left, right })
            }
            _ => Err(self.error(
                "padding",
                format!(
                    "must be \"same\", \"valid\" or [[top, bottom], [left, right]], got {}",
                    show(v)
                ),
            )),
        }
    }

    /// Keras's ZeroPadding2D forms: `p`, `[ph, pw]` or `[[top, bottom], [left, right]]`.
    pub fn zero_padding(&mut self) -> Result<[[usize; 2]; 2]> {
        let Some(v) = self.get("padding") else { return Ok([[1, 1], [1, 1]]) };
        if let Some(p) = v.as_u64() {
            let p = self.size_value("padding", p)?;
            return Ok([[p, p], [p, p]]);
        }
        if let Value::Array(items) = v {
            if items.len() == 2 && items.iter().all(|i| i.is_u64()) {
                let h = self.size_value("padding", items[0].as_u64().unwrap_or(0))?;
                let w = self.size_value("padding", items[1].as_u64().unwrap_or(0))?;
                return Ok([[h, h], [w, w]]);
            }
        }
        self.explicit_pads("padding", v)
    }

    fn explicit_pads(&self, key: &str, v: &Value) -> Result<[[usize; 2]; 2]> {
        let bad = || {
            self.error(
                key,
                format!(
                    "explicit padding must be [[top, bottom], [left, right]] with integers from \
                     0 to {MAX_HYPER}, got {}",
                    show(v)
                ),
            )
        };
        let rows = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
        let mut out = [[0usize; 2]; 2];
        for (axis, row) in rows.iter().enumerate() {
            let pair = row.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
            for (side, p) in pair.iter().enumerate() {
                out[axis][side] =
                    p.as_u64().filter(|&p| p <= MAX_HYPER as u64).ok_or_else(bad)? as usize;
            }
        }
        Ok(out)
    }

    fn size_value(&self, key: &str, p: u64) -> Result<usize> {
        if p > MAX_HYPER as u64 {
            return Err(self.error(key, format!("{p} is over the limit of {MAX_HYPER}")));
        }
        Ok(p as usize)
    }

    /// A boolean with a default.
    pub fn boolean(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.error(key, format!("must be true or false, got {}", show(v)))),
        }
    }

    /// A finite number in `range` with a default.
    pub fn number(
        &mut self,
        key: &'static str,
        default: f64,
        range: std::ops::RangeInclusive<f64>,
    ) -> Result<f64> {
        let Some(v) = self.get(key) else { return Ok(default) };
        match v.as_f64() {
            Some(x) if x.is_finite() && range.contains(&x) => Ok(x),
            _ => Err(self.error(
                key,
                format!(
                    "must be a number from {} to {}, got {}",
                    range.start(),
                    range.end(),
                    show(v)
                ),
            )),
        }
    }

    /// An optional non-negative integer (a seed).
    pub fn seed(&mut self, key: &'static str) -> Result<Option<u64>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        v.as_u64().map(Some).ok_or_else(|| {
            self.error(key, format!("must be a non-negative integer, got {}", show(v)))
        })
    }

    /// A Keras activation name (default "linear").
    pub fn activation(&mut self) -> Result<Activation> {
        let Some(v) = self.get("activation") else { return Ok(Activation::Linear) };
        let Some(name) = v.as_str() else {
            return Err(self.error("activation", format!("must be a name, got {}", show(v))));
        };
        Activation::from_name("", name).map_err(|_| {
            self.error(
                "activation",
                format!(
                    "unknown activation {name:?}; the activations are linear, relu, relu6, \
                     leaky_relu, elu, selu, sigmoid, tanh, softmax"
                ),
            )
        })
    }

    /// LeNet-5's C3 connection table: for each output map, the input maps it reads.
    pub fn connections(&mut self) -> Result<Option<Vec<Vec<usize>>>> {
        let Some(v) = self.get("connections") else { return Ok(None) };
        let bad = || {
            self.error(
                "connections",
                "must be a list with, for each filter, the list of input channels it reads",
            )
        };
        let rows = v.as_array().ok_or_else(bad)?;
        let mut table = Vec::with_capacity(rows.len().min(MAX_HYPER));
        for row in rows {
            let items = row.as_array().ok_or_else(bad)?;
            let mut maps = Vec::with_capacity(items.len().min(MAX_HYPER));
            for i in items {
                maps.push(i.as_u64().filter(|&i| i < MAX_HYPER as u64).ok_or_else(bad)? as usize);
            }
            table.push(maps);
        }
        Ok(Some(table))
    }

    /// A string with a default.
    pub fn string(&mut self, key: &'static str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.error(key, format!("must be a string, got {}", show(v)))),
        }
    }

    /// Refuses keys that were never read (a typo should not be ignored silently). `ignored`
    /// lists keys accepted and ignored (Keras's initializers, dtype, ... on import).
    pub fn finish(self, ignored: &[&str]) -> Result<()> {
        for key in self.map.keys() {
            if !self.read.contains(&key.as_str()) && !ignored.contains(&key.as_str()) {
                let known = if self.read.is_empty() {
                    "takes no config keys".to_string()
                } else {
                    format!("takes {}", self.read.join(", "))
                };
                return Err(layer_error(
                    self.layer,
                    self.class,
                    key,
                    format!("unknown config key ({} {known})", self.class),
                ));
            }
        }
        Ok(())
    }
}

/// `layer 'name' (Class): key: detail`: the form of every layer error.
pub fn layer_error(layer: &str, class: &str, key: &str, detail: impl std::fmt::Display) -> Error {
    if key.is_empty() {
        Error::spec(format!("layer '{layer}' ({class}): {detail}"))
    } else {
        Error::spec(format!("layer '{layer}' ({class}): {key} {detail}"))
    }
}

/// A JSON value shown in a message, cut short if long.
pub fn show(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 60 {
        let mut cut = 57;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}
