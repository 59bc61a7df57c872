//! `application/x-www-form-urlencoded` bodies and query strings, as OAuth reads them: a
//! parameter sent twice is an error (RFC 6749 §3.1), and empty values count as absent.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The named parameter appears more than once.
    Repeated(String),
    TooManyParameters,
}

/// Most parameters any OAuth request here needs is about a dozen.
pub const MAX_PARAMETERS: usize = 64;

/// Parameters by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(BTreeMap<String, String>);

impl Form {
    pub fn parse(raw: &[u8]) -> Result<Form, FormError> {
        let mut map = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(raw) {
            if v.is_empty() {
                continue;
            }
            if map.len() >= MAX_PARAMETERS {
                return Err(FormError::TooManyParameters);
            }
            if map.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(FormError::Repeated(k.into_owned()));
            }
        }
        Ok(Form(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let f =
            Form::parse(b"grant_type=authorization_code&code=a%2Bb&redirect_uri=https%3A%2F%2Fx%2Fcb&empty=").unwrap();
        assert_eq!(f.get("grant_type"), Some("authorization_code"));
        assert_eq!(f.get("code"), Some("a+b"));
        assert_eq!(f.get("redirect_uri"), Some("https://x/cb"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(Form::parse(b"scope=a+b").unwrap().get("scope"), Some("a b"));
    }

    #[test]
    fn repeated_and_excessive_parameters_are_refused() {
        assert_eq!(Form::parse(b"code=1&code=2"), Err(FormError::Repeated("code".into())));
        let many: String = (0..65).map(|i| format!("p{i}=v&")).collect();
        assert_eq!(Form::parse(many.as_bytes()), Err(FormError::TooManyParameters));
        for junk in [&b"%"[..], b"&&&", b"=", b"\xff\xfe=\xff", b"a=%zz"] {
            let _ = Form::parse(junk);
        }
    }
}
