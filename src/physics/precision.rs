//! How a model's weights are stored, and what arithmetic runs on them.

use serde::{Deserialize, Serialize};

/// How a model's weights are stored: bytes per parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Bf16,
    Fp16,
    Fp8,
    Int8,
    /// 4-bit integer weights (AWQ, GPTQ): stored in 4 bits, multiplied in 16-bit arithmetic.
    Int4,
    /// 4-bit floating-point weights in 32-element blocks with an 8-bit scale (OCP MXFP4, NVFP4):
    /// 4.25 bits a parameter; multiplied in FP4 where the accelerator has it.
    Fp4,
}

/// An accelerator's dense matrix arithmetic, by the width of what it multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arithmetic {
    Bf16,
    Fp8,
    Int8,
    Fp4,
}

impl Precision {
    pub const ALL: [Precision; 6] = [
        Precision::Bf16,
        Precision::Fp16,
        Precision::Fp8,
        Precision::Int8,
        Precision::Int4,
        Precision::Fp4,
    ];

    pub fn bytes_per_parameter(self) -> f64 {
        match self {
            Precision::Bf16 | Precision::Fp16 => 2.0,
            Precision::Fp8 | Precision::Int8 => 1.0,
            Precision::Int4 => 0.5,
            Precision::Fp4 => 4.25 / 8.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Bf16 => "BF16",
            Precision::Fp16 => "FP16",
            Precision::Fp8 => "FP8",
            Precision::Int8 => "INT8",
            Precision::Int4 => "INT4",
            Precision::Fp4 => "FP4",
        }
    }

    /// The arithmetic a server uses for these weights, fastest first: a narrower format runs in
    /// the next wider one on an accelerator that lacks it (MXFP4 on H100 runs in FP8; INT4
    /// weight-only quantisation is dequantised to 16 bits).
    pub fn arithmetic(self) -> &'static [Arithmetic] {
        match self {
            Precision::Bf16 | Precision::Fp16 | Precision::Int4 => &[Arithmetic::Bf16],
            Precision::Fp8 => &[Arithmetic::Fp8, Arithmetic::Bf16],
            Precision::Int8 => &[Arithmetic::Int8, Arithmetic::Fp8, Arithmetic::Bf16],
            Precision::Fp4 => &[Arithmetic::Fp4, Arithmetic::Fp8, Arithmetic::Bf16],
        }
    }

    /// Bytes a KV-cache entry takes per 16-bit byte: an 8-bit or narrower deployment is
    /// assumed to keep its KV cache in FP8 (vLLM's and TensorRT-LLM's `kv_cache_dtype=fp8`), so
    /// a floor computed from it stays a floor.
    pub fn kv_share(self) -> f64 {
        match self {
            Precision::Bf16 | Precision::Fp16 => 1.0,
            _ => 0.5,
        }
    }

    /// Reads a precision's name as scenarios and flags write it (`bf16`, `FP8`, `mxfp4`).
    pub fn parse(text: &str) -> Option<Precision> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bf16" | "bfloat16" => Some(Precision::Bf16),
            "fp16" | "float16" => Some(Precision::Fp16),
            "fp8" | "e4m3" => Some(Precision::Fp8),
            "int8" | "w8a8" => Some(Precision::Int8),
            "int4" | "awq" | "gptq" | "w4a16" => Some(Precision::Int4),
            "fp4" | "mxfp4" | "nvfp4" => Some(Precision::Fp4),
            _ => None,
        }
    }
}

impl Arithmetic {
    pub fn name(self) -> &'static str {
        match self {
            Arithmetic::Bf16 => "BF16",
            Arithmetic::Fp8 => "FP8",
            Arithmetic::Int8 => "INT8",
            Arithmetic::Fp4 => "FP4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(p.name()), Some(p));
        }
        assert_eq!(Precision::parse("MXFP4"), Some(Precision::Fp4));
        assert_eq!(Precision::parse("fp5"), None);
    }
}
