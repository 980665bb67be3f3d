//! The few ONNX protobuf messages the conformance runner reads (ModelProto -> GraphProto ->
//! NodeProto / AttributeProto / TensorProto / ValueInfoProto), decoded by hand from the
//! protobuf wire format: varints, fixed32/64 and length-delimited fields. Field numbers are
//! those of onnx/onnx.proto3. Unknown fields are skipped; malformed input is an error, never a
//! panic.

use std::collections::HashMap;

pub type Result<T> = std::result::Result<T, String>;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("truncated field")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next `(field number, value)`, or None at the end.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n = self.varint()? as usize;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            t => return Err(format!("unsupported wire type {t}")),
        };
        Ok(Some((key >> 3, value)))
    }
}

/// Repeated int64: packed (one length-delimited run of varints) or one varint per field.
fn push_ints(out: &mut Vec<i64>, v: Value) -> Result<()> {
    match v {
        Value::Varint(x) => out.push(x as i64),
        Value::Bytes(b) => {
            let mut r = Reader::new(b);
            while r.pos < b.len() {
                out.push(r.varint()? as i64);
            }
        }
        _ => return Err("bad int64 field".into()),
    }
    Ok(())
}

/// Repeated float: packed or one fixed32 per field.
fn push_floats(out: &mut Vec<f32>, v: Value) -> Result<()> {
    match v {
        Value::Fixed32(x) => out.push(f32::from_bits(x)),
        Value::Bytes(b) => {
            out.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())))
        }
        _ => return Err("bad float field".into()),
    }
    Ok(())
}

fn string(v: Value) -> Result<String> {
    match v {
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        _ => Err("expected a string".into()),
    }
}

/// TensorProto's data types that matter here.
pub const FLOAT: i32 = 1;
pub const BOOL: i32 = 9;

/// A decoded TensorProto.
#[derive(Debug, Clone, Default)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<usize>,
    pub data_type: i32,
    pub floats: Vec<f32>,
    pub ints: Vec<i64>,
    pub raw: Vec<u8>,
}

impl Tensor {
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let mut t = Tensor::default();
        let mut dims = Vec::new();
        let mut r = Reader::new(buf);
        while let Some((field, v)) = r.field()? {
            match (field, v) {
                (1, v) => push_ints(&mut dims, v)?,
                (2, Value::Varint(x)) => t.data_type = x as i32,
                (4, v) => push_floats(&mut t.floats, v)?,
                (7, v) => push_ints(&mut t.ints, v)?,
                (8, v) => t.name = string(v)?,
                (9, Value::Bytes(b)) => t.raw = b.to_vec(),
                _ => {}
            }
        }
        t.dims = dims.iter().map(|&d| d.max(0) as usize).collect();
        Ok(t)
    }

    /// The elements as f32 (float tensors only).
    pub fn f32s(&self) -> Result<Vec<f32>> {
        if self.data_type != FLOAT {
            return Err(format!(
                "tensor {:?} has data type {}, not float",
                self.name, self.data_type
            ));
        }
        if !self.raw.is_empty() {
            return Ok(self
                .raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect());
        }
        Ok(self.floats.clone())
    }

    /// The elements as bools (bool tensors are one byte each).
    pub fn bools(&self) -> Vec<bool> {
        if !self.raw.is_empty() {
            self.raw.iter().map(|&b| b != 0).collect()
        } else {
            self.ints.iter().map(|&i| i != 0).collect()
        }
    }
}

/// A decoded AttributeProto value.
#[derive(Debug, Clone)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    String(String),
    Ints(Vec<i64>),
    Other,
}

/// A decoded NodeProto.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: HashMap<String, Attribute>,
    pub domain: String,
}

impl Node {
    fn parse(buf: &[u8]) -> Result<Self> {
        let mut n = Node::default();
        let mut r = Reader::new(buf);
        while let Some((field, v)) = r.field()? {
            match field {
                1 => n.inputs.push(string(v)?),
                2 => n.outputs.push(string(v)?),
                4 => n.op_type = string(v)?,
                7 => n.domain = string(v)?,
                5 => {
                    let Value::Bytes(b) = v else { return Err("bad attribute".into()) };
                    let (name, attr) = parse_attribute(b)?;
                    n.attributes.insert(name, attr);
                }
                _ => {}
            }
        }
        Ok(n)
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        match self.attributes.get(name) {
            Some(Attribute::Int(i)) => *i,
            _ => default,
        }
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.attributes.get(name) {
            Some(Attribute::Float(f)) => *f,
            _ => default,
        }
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.attributes.get(name) {
            Some(Attribute::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.attributes.get(name) {
            Some(Attribute::String(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

fn parse_attribute(buf: &[u8]) -> Result<(String, Attribute)> {
    let (mut name, mut kind) = (String::new(), 0);
    let (mut f, mut i, mut s) = (None, None, None);
    let mut ints = Vec::new();
    let mut r = Reader::new(buf);
    while let Some((field, v)) = r.field()? {
        match (field, v) {
            (1, v) => name = string(v)?,
            (2, Value::Fixed32(x)) => f = Some(f32::from_bits(x)),
            (3, Value::Varint(x)) => i = Some(x as i64),
            (4, v) => s = Some(string(v)?),
            (8, v) => push_ints(&mut ints, v)?,
            (20, Value::Varint(x)) => kind = x,
            _ => {}
        }
    }
    // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, INTS 7 (others unused here).
    let attr = match kind {
        1 => Attribute::Float(f.unwrap_or(0.0)),
        2 => Attribute::Int(i.unwrap_or(0)),
        3 => Attribute::String(s.unwrap_or_default()),
        7 => Attribute::Ints(ints),
        _ => Attribute::Other,
    };
    Ok((name, attr))
}

/// The parts of a ModelProto the runner needs.
#[derive(Debug, Default)]
pub struct Model {
    pub opset: i64,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

fn value_info_name(buf: &[u8]) -> Result<String> {
    let mut r = Reader::new(buf);
    while let Some((field, v)) = r.field()? {
        if field == 1 {
            return string(v);
        }
    }
    Err("value info without a name".into())
}

impl Model {
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let mut m = Model::default();
        let mut r = Reader::new(buf);
        while let Some((field, v)) = r.field()? {
            match (field, v) {
                (7, Value::Bytes(g)) => m.parse_graph(g)?,
                (8, Value::Bytes(o)) => {
                    // OperatorSetIdProto: domain 1, version 2; the default domain is "".
                    let (mut domain, mut version) = (String::new(), 0);
                    let mut rr = Reader::new(o);
                    while let Some((f, v)) = rr.field()? {
                        match (f, v) {
                            (1, v) => domain = string(v)?,
                            (2, Value::Varint(x)) => version = x as i64,
                            _ => {}
                        }
                    }
                    if domain.is_empty() || domain == "ai.onnx" {
                        m.opset = version;
                    }
                }
                _ => {}
            }
        }
        Ok(m)
    }

    fn parse_graph(&mut self, buf: &[u8]) -> Result<()> {
        let mut r = Reader::new(buf);
        while let Some((field, v)) = r.field()? {
            let Value::Bytes(b) = v else { continue };
            match field {
                1 => self.nodes.push(Node::parse(b)?),
                5 => self.initializers.push(Tensor::parse(b)?),
                11 => self.inputs.push(value_info_name(b)?),
                12 => self.outputs.push(value_info_name(b)?),
                _ => {}
            }
        }
        Ok(())
    }
}
