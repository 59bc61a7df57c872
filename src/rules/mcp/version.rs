//! Protocol versions this server speaks, and what each one allows.

/// Every version this server speaks, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
}

/// Newest first: the order `supportedVersions` lists them.
pub const SUPPORTED: [Version; 4] =
    [Version::V2026_07_28, Version::V2025_11_25, Version::V2025_06_18, Version::V2025_03_26];

/// The newest version negotiated through `initialize`.
pub const LATEST_INITIALIZE: Version = Version::V2025_11_25;

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        SUPPORTED.iter().copied().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2025_03_26 => "2025-03-26",
            Version::V2025_06_18 => "2025-06-18",
            Version::V2025_11_25 => "2025-11-25",
            Version::V2026_07_28 => "2026-07-28",
        }
    }

    /// 2026-07-28: no `initialize`, no sessions; every request carries its own `_meta`.
    pub fn is_stateless(self) -> bool {
        self >= Version::V2026_07_28
    }

    /// JSON-RPC batches exist only in 2025-03-26.
    pub fn allows_batches(self) -> bool {
        self == Version::V2025_03_26
    }

    /// `title`, `outputSchema` and `structuredContent` arrived in 2025-06-18.
    pub fn has_structured_tools(self) -> bool {
        self >= Version::V2025_06_18
    }

    /// Error code for an unknown resource URI: -32002 until 2026-07-28, then -32602.
    pub fn resource_not_found_code(self) -> i64 {
        if self.is_stateless() {
            -32602
        } else {
            -32002
        }
    }
}

/// The version list for error data and `server/discover`.
pub fn supported_strings() -> Vec<&'static str> {
    SUPPORTED.iter().map(|v| v.as_str()).collect()
}

/// Version negotiation for `initialize` (2025-x): the client's version when it is a supported
/// initialize-based one, else the latest of those.
pub fn negotiate_initialize(requested: Option<&str>) -> Version {
    match requested.and_then(Version::parse) {
        Some(v) if !v.is_stateless() => v,
        _ => LATEST_INITIALIZE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_unknown() {
        for v in SUPPORTED {
            assert_eq!(Version::parse(v.as_str()), Some(v));
        }
        assert_eq!(Version::parse("2024-11-05"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("2025-06-18 "), None);
    }

    #[test]
    fn negotiation_answers_with_the_clients_version_when_supported() {
        assert_eq!(negotiate_initialize(Some("2025-03-26")), Version::V2025_03_26);
        assert_eq!(negotiate_initialize(Some("2025-06-18")), Version::V2025_06_18);
        assert_eq!(negotiate_initialize(Some("2024-11-05")), Version::V2025_11_25);
        assert_eq!(negotiate_initialize(Some("2026-07-28")), Version::V2025_11_25);
        assert_eq!(negotiate_initialize(None), Version::V2025_11_25);
    }

    #[test]
    fn features_by_version() {
        assert!(Version::V2025_03_26.allows_batches());
        assert!(!Version::V2025_06_18.allows_batches());
        assert!(!Version::V2025_03_26.has_structured_tools());
        assert!(Version::V2025_06_18.has_structured_tools());
        assert_eq!(Version::V2025_11_25.resource_not_found_code(), -32002);
        assert_eq!(Version::V2026_07_28.resource_not_found_code(), -32602);
    }
}
