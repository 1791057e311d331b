//! `oxmsal decode`: a JWT's header and claims, not verified.

use serde_json::{json, Value};

use crate::args::DecodeArgs;
use crate::exit::Failure;

pub fn run(args: &DecodeArgs) -> Result<Value, Failure> {
    let decoded = oxmsal::jwt::decode_unverified(&args.token).map_err(|e| {
        Failure::Usage(format!(
            "JWT: {}",
            e.to_string().trim_start_matches("configuration error: ")
        ))
    })?;
    Ok(json!({"header": decoded.header, "claims": decoded.claims}))
}
