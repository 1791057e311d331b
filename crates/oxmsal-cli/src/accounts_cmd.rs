//! `oxmsal accounts` and `oxmsal logout`.

use oxmsal::authority::Authority;
use oxmsal::cache::persist::{remove_account_from_document, CachePersistence, PartitionKey};
use oxmsal::{Account, Error};
use serde_json::{json, Value};

use crate::args::{ConnectionArgs, LogoutArgs};
use crate::exit::Failure;
use crate::session::Session;

fn account_json(a: &Account) -> Value {
    json!({
        "username": a.username,
        "home_account_id": a.home_account_id,
        "environment": a.environment,
        "realm": a.realm,
        "local_account_id": a.local_account_id,
        "authority_type": a.authority_type,
    })
}

/// The accounts of the cache, as one JSON array: those holding tokens of
/// `--client-id` when it is given, and those of `--authority`'s host when
/// that was given (`authority_given`: its default filters nothing).
pub async fn list(connection: &ConnectionArgs, authority_given: bool) -> Result<Value, Failure> {
    let session = Session::open(connection).await?;
    session.load_accounts().await?;
    let environment = match authority_given {
        true => Some(
            Authority::parse(&connection.authority)?
                .environment()
                .to_owned(),
        ),
        false => None,
    };
    let mut accounts = session.cache.accounts();
    accounts.retain(|a| {
        environment
            .as_deref()
            .is_none_or(|env| a.environment.eq_ignore_ascii_case(env))
    });
    if let Some(client_id) = &connection.client_id {
        accounts.retain(|a| {
            session
                .cache
                .client_ids_of(a)
                .iter()
                .any(|c| c.eq_ignore_ascii_case(client_id))
        });
    }
    accounts.sort_by(|a, b| {
        a.username
            .cmp(&b.username)
            .then(a.home_account_id.cmp(&b.home_account_id))
    });
    Ok(Value::Array(accounts.iter().map(account_json).collect()))
}

/// Removes one account's tokens (this client's, or every client's without
/// --client-id), in the cache file under its lock.
pub async fn logout(args: &LogoutArgs) -> Result<Value, Failure> {
    let session = Session::open(&args.connection).await?;
    session.load_accounts().await?;
    let accounts = session.cache.accounts();
    let account = pick_account(&accounts, args.account.as_deref())?;
    let client_id = args.connection.client_id.as_deref();
    // The count comes from the file as read at start; the edit below applies to
    // the file as it is under the lock.
    let removed = match client_id {
        Some(client_id) => session.cache.remove_account(&account, client_id),
        None => session.cache.remove_account_from_all_clients(&account),
    };
    let partition = PartitionKey::User {
        home_account_id: account.home_account_id.clone(),
    };
    let edit = |stored: Option<&str>| remove_account_from_document(stored, &account, client_id);
    // Strict: a sign-out Redis did not record must not look done.
    if let Some(store) = &session.store {
        store.update_strict(&partition, &edit).await?;
    }
    if let Some(redis) = &session.redis {
        redis.update_strict(&partition, &edit).await?;
    }
    session.save().await?;
    Ok(json!({"signed_out": account_json(&account), "removed_entries": removed}))
}

/// The account named by `--account` (username, case-insensitive), or the only one.
pub fn pick_account(accounts: &[Account], username: Option<&str>) -> Result<Account, Failure> {
    let matching: Vec<&Account> = match username {
        Some(name) => accounts
            .iter()
            .filter(|a| a.username.eq_ignore_ascii_case(name))
            .collect(),
        None => accounts.iter().collect(),
    };
    // One user signed in to several tenants is still one person: take the first.
    let mut people: Vec<&str> = matching
        .iter()
        .map(|a| a.home_account_id.as_str())
        .collect();
    people.sort_unstable();
    people.dedup();
    match (matching.first(), people.len(), username) {
        (Some(account), 1, _) => Ok((*account).clone()),
        (None, _, Some(name)) => Err(Failure::Library(Error::no_cached_token(format!(
            "no signed-in account `{name}` in the cache; run `oxmsal login`"
        )))),
        (None, _, None) => Err(Failure::Library(Error::no_cached_token(
            "no signed-in account in the cache; run `oxmsal login`",
        ))),
        _ => Err(Failure::Usage(
            "several accounts are signed in: choose one with --account USERNAME".into(),
        )),
    }
}
