//! A secret as the store holds it: sealed by the cipher port, opaque to everything else.

use serde::{Deserialize, Serialize};

/// Ciphertext produced by the cipher port; opaque to everything but the cipher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedSecret(pub String);
