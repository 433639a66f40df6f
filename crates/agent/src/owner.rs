//! Whose items are whose in the sessions table. Every item the agent keeps for a caller
//! (a session, the day's token count, the requests in flight) is keyed under the caller's
//! [`Owner`], so the same session id used by two callers names two sessions, and nothing one
//! caller sends can reach another's items.

use common::Caller;
use sha2::{Digest, Sha256};

/// A caller as the table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    name: String,
    key: String,
}

impl Owner {
    /// The owner of `caller`'s items.
    pub fn of(caller: &Caller) -> Self {
        let name = caller.to_string();
        // A digest rather than the name itself: a fixed 32 characters whatever the ARN or
        // token subject holds, well inside DynamoDB's 2,048-byte key, and nothing in the key
        // to parse. 128 bits leave no practical chance of two callers sharing one.
        let digest = Sha256::digest(name.as_bytes());
        let key = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self { name, key }
    }

    /// The caller's name (`iam:<arn>`, `jwt:<iss> <sub>`, `caller:<name>`, `direct`,
    /// `anonymous`), stored beside each item so that an operator reading the table sees whose
    /// it is, and written in the audit line.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32 hexadecimal characters every key of this owner's items starts with.
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_fixed_length_key() {
        let callers = [
            Caller::Direct,
            Caller::Anonymous,
            Caller::Declared("slack-bot".into()),
            Caller::Iam {
                arn: "arn:aws:sts::123456789012:assumed-role/Ops/alice".into(),
            },
            Caller::Iam {
                arn: "arn:aws:sts::123456789012:assumed-role/Ops/bob".into(),
            },
            Caller::Jwt {
                issuer: "https://idp".into(),
                subject: "alice".into(),
            },
        ];
        let keys: std::collections::HashSet<String> = callers
            .iter()
            .map(|c| Owner::of(c).key().to_owned())
            .collect();
        assert_eq!(keys.len(), callers.len());
        for key in &keys {
            assert_eq!(key.len(), 32);
            assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        // The same caller always gets the same key (it is what finds their session again).
        assert_eq!(Owner::of(&callers[3]), Owner::of(&callers[3].clone()));
        // SHA-256("direct"), first 16 bytes: checked with `printf direct | sha256sum`.
        assert_eq!(
            Owner::of(&Caller::Direct).key(),
            "d15690f08a575024650b01ffac892cfd"
        );
    }
}
