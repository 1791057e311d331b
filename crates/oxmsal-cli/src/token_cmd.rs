//! `oxmsal token`: an app-only token (client credentials), cache first.

use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::{FileCache, TokenCache};
use oxmsal::credential::ClientCredential;
use oxmsal::http::ThrottleStore;
use oxmsal::ConfidentialClientApplication;
use oxmsal_emulator::Emulator;
use serde_json::Value;

use crate::args::TokenArgs;
use crate::exit::Failure;
use crate::{cache_path, inputs};

/// Where this run keeps its tokens.
enum CacheChoice {
    Memory,
    File(std::path::PathBuf),
}

pub async fn run(args: TokenArgs) -> Result<Value, Failure> {
    let credential = match (&args.secret_env, &args.certificate) {
        (Some(var), None) => Some(ClientCredential::secret(inputs::secret_from_env(
            var,
            "--secret-env",
        )?)),
        (None, Some(path)) => Some(inputs::certificate(
            path,
            args.certificate_password_env.as_deref(),
        )?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(Failure::Usage(
                "--secret-env and --certificate cannot be used together".into(),
            ))
        }
    };
    let challenge = match &args.claims_challenge {
        Some(header) => Some(crate::challenge_cmd::parse(header, "--claims-challenge")?),
        None => None,
    };
    let extra_root = match &args.ca_cert {
        Some(path) => Some(inputs::read_pem(path, "--ca-cert")?),
        None => None,
    };
    let cache_choice = match (&args.cache, args.no_cache, args.emulator) {
        (Some(path), _, _) => CacheChoice::File(path.clone()),
        (None, true, _) | (None, false, true) => CacheChoice::Memory,
        (None, false, false) => match cache_path::default_cache_file() {
            Some(path) => CacheChoice::File(path),
            None => CacheChoice::Memory,
        },
    };

    // The emulator lives until this function returns, i.e. for the whole request.
    let emulator = if args.emulator {
        Some(
            Emulator::start()
                .await
                .map_err(|e| Failure::Internal(format!("cannot start the emulator: {e}")))?,
        )
    } else {
        None
    };

    let (client_id, credential) = match (&emulator, args.client_id.clone(), credential) {
        (_, Some(id), Some(cred)) => (id, cred),
        (Some(emu), None, None) => {
            let demo = emu.register_demo_app();
            (demo.client_id, ClientCredential::secret(demo.secret))
        }
        (_, None, _) => return Err(Failure::Usage("--client-id is required".into())),
        (_, Some(_), None) => {
            return Err(Failure::Usage(
                "no credential: give --secret-env VAR or --certificate PATH".into(),
            ))
        }
    };

    let mut builder = ConfidentialClientApplication::builder(client_id, credential);
    builder = match &emulator {
        Some(emu) => {
            let base = url_of(&emu.base_url())?;
            builder
                .authority(emu.authority())
                .extra_root_certificate_pem(emu.ca_pem().as_bytes().to_vec())
                .instance_discovery(InstanceDiscovery::Endpoint(base))
        }
        None => builder.authority(args.authority.clone()),
    };
    if args.no_instance_discovery {
        builder = builder.instance_discovery(InstanceDiscovery::Disabled);
    }
    if let Some(pem) = extra_root {
        builder = builder.extra_root_certificate_pem(pem);
    }
    if !args.capabilities.is_empty() {
        builder = builder.client_capabilities(args.capabilities.clone());
    }
    let file = match &cache_choice {
        CacheChoice::File(path) => Some(FileCache::open(path)?),
        CacheChoice::Memory => None,
    };
    let cache = file
        .as_ref()
        .map(|f| f.cache().clone())
        .unwrap_or_else(TokenCache::new);
    // The server's "back off" outlives this process: kept beside the cache file.
    let throttle = ThrottleStore::new();
    let throttle_path = file.as_ref().map(|f| throttle_file(f.path()));
    if let Some(path) = &throttle_path {
        throttle.load_file(path)?;
    }
    let app = builder
        .token_cache(cache)
        .throttle_store(throttle.clone())
        .build()?;

    let mut request = app.acquire_token_for_client(args.scopes.clone());
    if let Some(claims) = &args.claims {
        request = request.claims(claims.clone());
    }
    if let Some(challenge) = &challenge {
        request = request.claims_challenge(challenge);
    }
    if let Some(tenant) = &args.tenant {
        request = request.tenant(tenant.clone());
    }
    let outcome = request.await;
    if let Some(path) = &throttle_path {
        throttle.save_file(path, now_epoch())?;
    }
    let result = outcome?;
    if let Some(file) = &file {
        file.save()?;
    }
    Ok(result.to_msal_json())
}

/// `<cache>.throttle.json` next to the cache file.
fn throttle_file(cache: &std::path::Path) -> std::path::PathBuf {
    let mut name = cache
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".throttle.json");
    cache.with_file_name(name)
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn url_of(text: &str) -> Result<url::Url, Failure> {
    url::Url::parse(text).map_err(|e| Failure::Internal(format!("emulator URL `{text}`: {e}")))
}
