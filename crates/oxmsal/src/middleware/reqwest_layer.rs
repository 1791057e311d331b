//! [`BearerAuth`] as a `reqwest_middleware::Middleware` (feature `reqwest-middleware`).
//!
//! ```
//! use oxmsal::{authority::InstanceDiscovery, credential::ClientCredential};
//! use oxmsal::middleware::BearerAuth;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = oxmsal_emulator::Emulator::start().await?;
//! # let demo = emulator.register_demo_app();
//! let app = oxmsal::ConfidentialClientApplication::builder(
//!         demo.client_id.clone(), ClientCredential::secret(demo.secret.clone()))
//!     .authority(emulator.authority())
//!     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
//!     .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
//!     .build()?;
//! # let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes())?;
//! # let http = reqwest::Client::builder().tls_certs_only([ca]).no_proxy().build()?;
//! let client = reqwest_middleware::ClientBuilder::new(http)
//!     .with(BearerAuth::new(app, ["https://graph.example/.default"]))
//!     .build();
//! let response = client.get(emulator.resource_url("/v1.0/me")).send().await?;
//! assert_eq!(response.status(), 200);
//! # Ok(()) }
//! ```

use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use super::{insufficient_claims, BearerAuth};

#[async_trait::async_trait]
impl Middleware for BearerAuth {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if request.headers().contains_key(AUTHORIZATION) {
            tracing::debug!("the request has its own Authorization header; sent as it is");
            return next.run(request, extensions).await;
        }
        // Cloned before the token goes in: the retry gets its own. `None` for a
        // streamed body, which cannot be sent twice.
        let retry = request.try_clone();
        self.authorize(request.headers_mut(), None)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.clone().run(request, extensions).await?;
        let Some(challenge) = insufficient_claims(response.status(), response.headers()) else {
            return Ok(response);
        };
        let Some(mut retry) = retry else {
            tracing::debug!("claims challenge not answered: the request body cannot be cloned");
            return Ok(response);
        };
        tracing::debug!(claims = %challenge.claims_json(), "answering a claims challenge once");
        drop(response);
        self.authorize(retry.headers_mut(), Some(challenge.claims_json()))
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(retry, extensions).await
    }
}
