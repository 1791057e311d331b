//! Each managed-identity source's wire shape as the emulator speaks it: path,
//! method, `api-version`, identity header, id parameters, answer and error shapes.

use serde_json::{json, Value};

/// A managed-identity source the emulator can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MiSource {
    /// Azure Instance Metadata Service.
    Imds,
    /// App Service / Functions.
    AppService,
    /// Azure Machine Learning.
    MachineLearning,
    /// Azure Arc (himds), with its key-file challenge.
    AzureArc,
    /// Cloud Shell (form POST).
    CloudShell,
    /// Service Fabric (HTTPS, pinned certificate).
    ServiceFabric,
}

impl MiSource {
    /// Every source.
    pub const ALL: [MiSource; 6] = [
        MiSource::ServiceFabric,
        MiSource::AppService,
        MiSource::MachineLearning,
        MiSource::AzureArc,
        MiSource::CloudShell,
        MiSource::Imds,
    ];

    /// The name oxmsal uses for it (`imds`, `app_service`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MiSource::ServiceFabric => "service_fabric",
            MiSource::AppService => "app_service",
            MiSource::MachineLearning => "machine_learning",
            MiSource::AzureArc => "azure_arc",
            MiSource::CloudShell => "cloud_shell",
            MiSource::Imds => "imds",
        }
    }

    /// The source of a name (`app-service` and `app_service` both work).
    pub fn from_name(name: &str) -> Option<MiSource> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|s| s.as_str() == wanted)
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            MiSource::Imds | MiSource::AzureArc | MiSource::ServiceFabric => {
                "/metadata/identity/oauth2/token"
            }
            MiSource::AppService | MiSource::MachineLearning => "/msi/token",
            MiSource::CloudShell => "/oauth2/token",
        }
    }

    pub(crate) fn method(self) -> &'static str {
        if self == MiSource::CloudShell {
            "POST"
        } else {
            "GET"
        }
    }

    /// `None` for Cloud Shell (no api-version).
    pub(crate) fn api_version(self) -> Option<&'static str> {
        match self {
            MiSource::Imds => Some("2018-02-01"),
            MiSource::AppService => Some("2019-08-01"),
            MiSource::MachineLearning => Some("2017-09-01"),
            MiSource::AzureArc => Some("2020-06-01"),
            MiSource::ServiceFabric => Some("2019-07-01-preview"),
            MiSource::CloudShell => None,
        }
    }

    /// The id parameters: (client id, object id, resource id) spellings.
    pub(crate) fn id_params(self) -> [Option<&'static str>; 3] {
        match self {
            MiSource::Imds | MiSource::AzureArc => {
                [Some("client_id"), Some("object_id"), Some("msi_res_id")]
            }
            MiSource::AppService => [Some("client_id"), Some("object_id"), Some("mi_res_id")],
            MiSource::MachineLearning => [Some("clientid"), None, None],
            MiSource::CloudShell | MiSource::ServiceFabric => [None, None, None],
        }
    }

    /// The error body of this source for `status`, `code` and `message`.
    pub(crate) fn error_body(self, status: u16, code: &str, message: &str) -> Value {
        match self {
            MiSource::AppService | MiSource::MachineLearning => {
                json!({"statusCode": status, "message": message})
            }
            MiSource::ServiceFabric => json!({"error": {"code": code, "message": message}}),
            MiSource::Imds | MiSource::AzureArc | MiSource::CloudShell => {
                json!({"error": code, "error_description": message})
            }
        }
    }

    /// A token answer in this source's shape.
    pub(crate) fn token_body(
        self,
        token: &str,
        resource: &str,
        client_id: &str,
        now: u64,
        lifetime: u64,
    ) -> Value {
        let expires_on = now + lifetime;
        match self {
            // IMDS and Arc: numbers as strings, `expires_in` present.
            MiSource::Imds | MiSource::AzureArc | MiSource::CloudShell => json!({
                "access_token": token,
                "client_id": client_id,
                "expires_in": lifetime.to_string(),
                "expires_on": expires_on.to_string(),
                "ext_expires_in": lifetime.to_string(),
                "not_before": now.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }),
            // App Service and Service Fabric: `expires_on` as an epoch number.
            MiSource::AppService | MiSource::ServiceFabric => json!({
                "access_token": token,
                "expires_on": expires_on,
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id,
            }),
            // Azure ML: `expires_on` as an epoch string.
            MiSource::MachineLearning => json!({
                "access_token": token,
                "expires_on": expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "clientid": client_id,
            }),
        }
    }
}

impl std::fmt::Display for MiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
