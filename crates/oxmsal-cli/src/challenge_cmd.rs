//! `oxmsal challenge`: the claims JSON of a resource's WWW-Authenticate header.

use oxmsal::ClaimsChallenge;
use serde_json::Value;

use crate::args::ChallengeArgs;
use crate::exit::Failure;

/// The claims challenge of a header value; a malformed header, or one without a
/// claims challenge, is a usage error naming `flag`.
pub fn parse(header: &str, flag: &str) -> Result<ClaimsChallenge, Failure> {
    match ClaimsChallenge::from_www_authenticate(header) {
        Ok(Some(challenge)) => Ok(challenge),
        Ok(None) => Err(Failure::Usage(format!(
            "{flag}: the header holds no Bearer or PoP challenge with `claims`"
        ))),
        Err(e) => Err(Failure::Usage(format!("{flag}: {e}"))),
    }
}

pub fn run(args: &ChallengeArgs) -> Result<Value, Failure> {
    let challenge = parse(&args.header, "HEADER")?;
    serde_json::from_str(challenge.claims_json())
        .map_err(|e| Failure::Internal(format!("decoded claims are not JSON: {e}")))
}
