//! A password hash brought from another system (admin API `password_hash`, spec
//! admin-api.md §2): argon2id/argon2i/argon2d PHC, bcrypt modular crypt (`$2a$`, `$2b$`,
//! `$2y$`), pbkdf2-sha256/pbkdf2-sha512 PHC and scrypt PHC, each exactly as the crate that
//! verifies it (argon2, bcrypt, pbkdf2, scrypt) reads it; anything else is refused.
//!
//! Parsing also bounds the cost. An imported hash is recomputed on the bounded password
//! pool at its user's first login (which then rewrites it as argon2id), so one hash with
//! absurd parameters could hold a worker, and its memory, for minutes. The bounds keep a
//! check near one second on one core and within 256 MiB. `examples/imported_hash_costs.rs`
//! measured one check at the bounds (release, 2 shared cores, load 4): argon2id
//! m=256 MiB t=4 1.2 s, bcrypt 14 1.1 s, pbkdf2-sha512 i=2,000,000 1.0 s, pbkdf2-sha256
//! 0.3 s, scrypt ln=18 r=8 p=1 0.8 s; argon2id at the default parameters 21 ms.
//!
//! Weak hashes are accepted: refusing them would only force a password reset, while
//! importing them gets them rehashed at the first login.

use std::fmt;

use argon2::password_hash::PasswordHash as Phc;
use base64::alphabet::BCRYPT;
use base64::engine::general_purpose::NO_PAD;
use base64::engine::GeneralPurpose;
use base64::Engine as _;

/// The formats authd verifies. `check_password` dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashScheme {
    /// `$argon2id$`, `$argon2i$`, `$argon2d$` (PHC).
    Argon2,
    /// `$2a$`, `$2b$`, `$2y$` (modular crypt).
    Bcrypt,
    /// `$pbkdf2-sha256$`, `$pbkdf2-sha512$` (PHC, as the `pbkdf2` crate writes it).
    Pbkdf2,
    /// `$scrypt$` (PHC, as the `scrypt` crate writes it).
    Scrypt,
}

impl HashScheme {
    /// The scheme a stored hash claims by its prefix, without checking the rest.
    pub fn of(raw: &str) -> Option<Self> {
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| raw.starts_with(p)) {
            return Some(Self::Bcrypt);
        }
        let ident = raw.strip_prefix('$')?.split('$').next()?;
        match ident {
            "argon2id" | "argon2i" | "argon2d" => Some(Self::Argon2),
            "pbkdf2-sha256" | "pbkdf2-sha512" => Some(Self::Pbkdf2),
            "scrypt" => Some(Self::Scrypt),
            _ => None,
        }
    }
}

/// A parsed imported hash. Not secret like a password, but an offline-crackable
/// verifier: `Debug` shows the scheme only.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedHash {
    scheme: HashScheme,
    raw: String,
}

/// Longest accepted string; the longest valid one (64-byte salt and output, every
/// parameter spelled out) is about 250 characters.
const MAX_LEN: usize = 512;

/// argon2 memory in KiB (256 MiB), per check on each pool thread: libsodium's
/// "moderate" level. OWASP's minimum is 19 MiB, RFC 9106's low-memory choice 64 MiB;
/// libsodium's "sensitive" (1 GiB) and RFC 9106's first choice (2 GiB) are refused.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 256 * 1024;
/// argon2 work, memory × passes in KiB: four passes over 256 MiB (libsodium's
/// "moderate" makes three), or t = 53 at 19 MiB. A check's time is proportional to it.
pub const ARGON2_MAX_WORK_KIB: u64 = 4 * 256 * 1024;
/// bcrypt cost: each step doubles the time; 14 is ≈1 s per check (12, a common
/// default, ≈0.25 s). The format allows up to 31, i.e. days.
pub const BCRYPT_MAX_COST: u32 = 14;
/// Smallest cost the bcrypt format defines.
const BCRYPT_MIN_COST: u32 = 4;
/// pbkdf2 PRF iterations, counted over every output block (`i` × ⌈`l` / digest size⌉):
/// room above OWASP's 600,000 (sha256) and Django's recent defaults (about 1,000,000).
pub const PBKDF2_MAX_ITERATIONS: u64 = 2_000_000;
/// scrypt memory, 128 × r × N bytes: 256 MiB like argon2 (ln = 18 at r = 8).
pub const SCRYPT_MAX_MEMORY: u64 = 256 * 1024 * 1024;
/// scrypt work, N × r × p: ln = 18, r = 8, p = 1 (passlib's default is ln = 16).
pub const SCRYPT_MAX_WORK: u64 = (1 << 18) * 8;

const UNSUPPORTED: &str = "password_hash must be an argon2 (PHC), bcrypt ($2a$, $2b$, $2y$), \
     pbkdf2-sha256, pbkdf2-sha512 or scrypt (PHC) hash";

impl ImportedHash {
    /// Parses a hash string. Errors are one line and never repeat the input.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_LEN {
            return Err(format!("password_hash is longer than {MAX_LEN} characters"));
        }
        let scheme = HashScheme::of(raw).ok_or_else(|| UNSUPPORTED.to_owned())?;
        match scheme {
            HashScheme::Bcrypt => bcrypt(raw)?,
            HashScheme::Argon2 => argon2(&phc(raw, "argon2")?)?,
            HashScheme::Pbkdf2 => pbkdf2(&phc(raw, "pbkdf2")?)?,
            HashScheme::Scrypt => scrypt(&phc(raw, "scrypt")?)?,
        }
        Ok(Self {
            scheme,
            raw: raw.to_owned(),
        })
    }

    pub fn scheme(&self) -> HashScheme {
        self.scheme
    }

    /// The hash as imported: what the store keeps and the verifier reads.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn into_string(self) -> String {
        self.raw
    }
}

impl fmt::Debug for ImportedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImportedHash({:?}, [redacted])", self.scheme)
    }
}

/// `$2a$`/`$2b$`/`$2y$`, a two-digit cost, `$`, 22 characters of salt (16 bytes) and 31
/// of hash (23 bytes) in bcrypt's base64 (OpenBSD bcrypt(3), crypt_blowfish). The salt's
/// and hash's unused low bits must be zero: the `bcrypt` crate decodes strictly and would
/// otherwise refuse the hash at every login.
fn bcrypt(raw: &str) -> Result<(), String> {
    const MALFORMED: &str = "bcrypt password_hash must be $2a$, $2b$ or $2y$, a two-digit \
         cost, $, a 22-character salt and a 31-character hash";
    let rest = raw.get(4..).ok_or(MALFORMED)?;
    let (cost, body) = rest.split_once('$').ok_or(MALFORMED)?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) || body.len() != 53 {
        return Err(MALFORMED.to_owned());
    }
    let cost: u32 = cost.parse().map_err(|_| MALFORMED)?;
    if !(BCRYPT_MIN_COST..=BCRYPT_MAX_COST).contains(&cost) {
        return Err(format!(
            "bcrypt cost must be between {BCRYPT_MIN_COST} and {BCRYPT_MAX_COST}"
        ));
    }
    let engine = GeneralPurpose::new(&BCRYPT, NO_PAD);
    let (salt, hash) = body.split_at_checked(22).ok_or(MALFORMED)?;
    match (engine.decode(salt), engine.decode(hash)) {
        (Ok(salt), Ok(hash)) if salt.len() == 16 && hash.len() == 23 => Ok(()),
        _ => Err(MALFORMED.to_owned()),
    }
}

/// A PHC string (the `password-hash` crate's parser) with a salt and a hash.
fn phc<'a>(raw: &'a str, scheme: &str) -> Result<Phc<'a>, String> {
    match Phc::new(raw) {
        Ok(phc) if phc.salt.is_some() && phc.hash.is_some() => Ok(phc),
        _ => Err(format!(
            "{scheme} password_hash is not a PHC string with parameters, salt and hash"
        )),
    }
}

/// The parameters a hash must spell out: the crates fall back to their own defaults
/// when one is missing, and a default can change between releases.
fn require(phc: &Phc<'_>, names: &[&str], message: &str) -> Result<(), String> {
    if names.iter().all(|n| phc.params.get(*n).is_some()) {
        Ok(())
    } else {
        Err(message.to_owned())
    }
}

/// `$argon2id$v=19$m=..,t=..,p=..$salt$hash` (PHC; the version is required because
/// libargon2 reads a missing one as 0x10 and the argon2 crate as 0x13).
fn argon2(phc: &Phc<'_>) -> Result<(), String> {
    if !matches!(phc.version, Some(0x10 | 0x13)) {
        return Err("argon2 password_hash must state its version, v=19 or v=16".to_owned());
    }
    require(
        phc,
        &["m", "t", "p"],
        "argon2 password_hash must state m, t and p",
    )?;
    if phc.params.get("keyid").is_some() {
        // A keyid names a secret key (pepper) authd does not have.
        return Err("argon2 password_hash with a keyid cannot be verified".to_owned());
    }
    let params = argon2::Params::try_from(phc)
        .map_err(|_| "argon2 password_hash has invalid parameters".to_owned())?;
    if salt_len(phc).is_none_or(|n| n < argon2::MIN_SALT_LEN) {
        return Err("argon2 password_hash salt must be 8 to 48 bytes".to_owned());
    }
    if params.m_cost() > ARGON2_MAX_MEMORY_KIB {
        return Err(format!(
            "argon2 memory above {ARGON2_MAX_MEMORY_KIB} KiB is refused"
        ));
    }
    if u64::from(params.m_cost()) * u64::from(params.t_cost()) > ARGON2_MAX_WORK_KIB {
        return Err(format!(
            "argon2 memory × iterations above {ARGON2_MAX_WORK_KIB} KiB is refused"
        ));
    }
    Ok(())
}

/// `$pbkdf2-sha256$i=..,l=..$salt$hash` and `$pbkdf2-sha512$...`: what the pbkdf2
/// crate's `simple` feature writes and reads (`i` rounds, `l` output length, B64 salt
/// and hash). passlib's `$pbkdf2-sha256$29000$...` (bare rounds, its own base64) is
/// another format and is refused.
fn pbkdf2(phc: &Phc<'_>) -> Result<(), String> {
    if phc.version.is_some() {
        return Err("pbkdf2 password_hash has no version field".to_owned());
    }
    require(
        phc,
        &["i"],
        "pbkdf2 password_hash must state i (iterations)",
    )?;
    let params = pbkdf2::Params::try_from(phc)
        .map_err(|_| "pbkdf2 password_hash has invalid parameters".to_owned())?;
    if salt_len(phc).is_none() {
        return Err("pbkdf2 password_hash salt is not valid base64".to_owned());
    }
    let digest = if phc.algorithm.as_str() == "pbkdf2-sha512" {
        64
    } else {
        32
    };
    let blocks = params.output_length.div_ceil(digest) as u64;
    if params.rounds == 0 || u64::from(params.rounds) * blocks > PBKDF2_MAX_ITERATIONS {
        return Err(format!(
            "pbkdf2 iterations must be between 1 and {PBKDF2_MAX_ITERATIONS}"
        ));
    }
    Ok(())
}

/// `$scrypt$ln=..,r=..,p=..$salt$hash`: what the scrypt crate's `simple` feature writes.
fn scrypt(phc: &Phc<'_>) -> Result<(), String> {
    if phc.version.is_some() {
        return Err("scrypt password_hash has no version field".to_owned());
    }
    require(
        phc,
        &["ln", "r", "p"],
        "scrypt password_hash must state ln, r and p",
    )?;
    let params = scrypt::Params::try_from(phc)
        .map_err(|_| "scrypt password_hash has invalid parameters".to_owned())?;
    if salt_len(phc).is_none() {
        return Err("scrypt password_hash salt is not valid base64".to_owned());
    }
    // u128: 2^ln × r × p can pass 2^64 for parameters the crate accepts.
    let n = 1u128 << params.log_n();
    let (r, p) = (u128::from(params.r()), u128::from(params.p()));
    if 128 * r * n > u128::from(SCRYPT_MAX_MEMORY) {
        return Err(format!(
            "scrypt memory (128 × r × 2^ln) above {SCRYPT_MAX_MEMORY} bytes is refused"
        ));
    }
    if n * r * p > u128::from(SCRYPT_MAX_WORK) {
        return Err(format!(
            "scrypt work (2^ln × r × p) above {SCRYPT_MAX_WORK} is refused"
        ));
    }
    Ok(())
}

/// The decoded salt length, or `None` when the salt is not B64 the verifiers can read.
fn salt_len(phc: &Phc<'_>) -> Option<usize> {
    let mut buf = [0u8; 64];
    Some(phc.salt?.decode_b64(&mut buf).ok()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Python's hashlib (OpenSSL), not by the crates that read them:
    /// pbkdf2_hmac(alg, "correct horse battery staple", "authd-import-salt", 1000) and
    /// scrypt(n=2^10, r=8, p=1, dklen=32), in PHC B64.
    const PBKDF2_SHA256: &str = "$pbkdf2-sha256$i=1000,l=32$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk";
    const PBKDF2_SHA512: &str = "$pbkdf2-sha512$i=1000,l=64$YXV0aGQtaW1wb3J0LXNhbHQ$/aVHhF7OkDUfClFf7qskx2rp8MvzEwHFkjCofW0H6r2r5ndLnu0J7bJIBxlM9gp+eKI5ZAOJZeJ9Ojrme+k1sQ";
    const SCRYPT: &str =
        "$scrypt$ln=10,r=8,p=1$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U";
    /// PHP's password_verify() manual page: the password is "rasmuslerdorf".
    const BCRYPT_PHP: &str = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
    /// Openwall crypt_blowfish's test vectors: the password is "U*U".
    const BCRYPT_OPENWALL: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    /// The argon2 reference implementation's README: "password", salt "somesalt".
    const ARGON2I_REFERENCE: &str =
        "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

    const SALT: &str = "c29tZXNhbHRzb21lc2FsdA";
    const HASH: &str = "RdescudvJCsgt3ub+b+dWRWJTmaaJObGRdescudvJCs";

    fn argon2(params: &str) -> String {
        format!("$argon2id$v=19${params}${SALT}${HASH}")
    }

    fn refused(raw: &str) -> String {
        let err = ImportedHash::parse(raw).expect_err(raw);
        assert!(!err.contains('\n'), "{err}");
        // No part of the input comes back: not the whole, not a salt, not a hash.
        for part in raw.split(['$', ',']).filter(|p| p.len() >= 10) {
            assert!(!err.contains(part), "{err:?} repeats {part:?}");
        }
        err
    }

    #[test]
    fn every_supported_format_parses_to_its_scheme() {
        let cases = [
            (ARGON2I_REFERENCE, HashScheme::Argon2),
            (&*argon2("m=19456,t=2,p=1"), HashScheme::Argon2),
            ("$argon2d$v=16$m=1024,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", HashScheme::Argon2),
            (BCRYPT_PHP, HashScheme::Bcrypt),
            (BCRYPT_OPENWALL, HashScheme::Bcrypt),
            ("$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", HashScheme::Bcrypt),
            (PBKDF2_SHA256, HashScheme::Pbkdf2),
            (PBKDF2_SHA512, HashScheme::Pbkdf2),
            ("$pbkdf2-sha256$i=600000$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk", HashScheme::Pbkdf2),
            (SCRYPT, HashScheme::Scrypt),
        ];
        for (raw, scheme) in cases {
            let hash = ImportedHash::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(hash.scheme(), scheme);
            assert_eq!(hash.as_str(), raw);
            assert_eq!(crate::store::PasswordHash::from(hash).0, raw);
        }
    }

    #[test]
    fn other_schemes_and_plain_text_are_refused() {
        for raw in [
            "",
            "hunter2-plain-text",
            "5f4dcc3b5aa765d61d8327deb882cf99",                  // md5 hex
            "$1$saltsalt$RkkBOmYRcNj2IXTIVIUOm/",               // md5-crypt
            "$5$rounds=5000$saltsaltsalt$Ab12Cd34Ef56Gh78Ij90Kl", // sha256-crypt
            "$6$saltsaltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", // sha512-crypt
            "{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0c2FsdA==",
            "$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
            "$2$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
            "$argon2$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$pbkdf2$i=1000$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr", // pbkdf2-sha1
            "$sha1$c2FsdHNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr",
        ] {
            assert_eq!(refused(raw), UNSUPPORTED, "{raw}");
        }
        assert!(refused(&"x".repeat(513)).contains("longer than"));
    }

    #[test]
    fn truncated_and_garbled_hashes_are_refused() {
        for raw in [
            &BCRYPT_PHP[..59],
            &BCRYPT_PHP[..7],
            "$2y$",
            "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a$",
            "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk!a", // not bcrypt base64
            "$2y$10$.vGA1O9wmRjrwAVXD98HNPgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", // salt's unused bits set
            "$2y$1a$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
            "$2y$010$vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
            &ARGON2I_REFERENCE[..50],
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=1024,t=1,p=1",
            "$argon2id$",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$!!!notbase64!!!",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", // 4-byte salt
            "$argon2id$v=19$m=4,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", // m < 8p
            "$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$argon2id$v=19$m=1024,t=1,p=1,x=2$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$argon2id$v=18$m=1024,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$argon2id$m=1024,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", // no version
            "$argon2id$v=19$m=1024,t=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", // no p
            "$argon2id$v=19$m=1024,t=1,p=1,keyid=a2V5$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$pbkdf2-sha256$i=1000,l=32$YXV0aGQtaW1wb3J0LXNhbHQ",
            "$pbkdf2-sha256$i=1000,l=16$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk", // l ≠ length
            "$pbkdf2-sha256$l=32$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk", // no i
            "$pbkdf2-sha256$i=0$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk",
            "$pbkdf2-sha256$v=1$i=1000$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk",
            // passlib's own pbkdf2 format: bare rounds, "." for "+".
            "$pbkdf2-sha256$29000$N2bs3RvDmLMWohRC6P0fQw$Iw9pC3.lWPLHX6bXUPVd0t6QOYYYBG1ou1kBx3kGmes",
            "$scrypt$ln=10,r=8$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U", // no p
            "$scrypt$ln=10,r=0,p=1$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U",
            "$scrypt$ln=10,r=8,p=1$YXV0aGQtaW1wb3J0LXNhbHQ",
            "$scrypt$ln=10,r=8,p=1$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoW", // 6-byte output
        ] {
            let err = refused(raw);
            assert_ne!(err, UNSUPPORTED, "{raw}");
        }
    }

    #[test]
    fn bcrypt_costs_outside_4_to_14_are_refused() {
        let with_cost =
            |c: &str| format!("$2y${c}$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a");
        for ok in ["04", "10", "12", "14"] {
            assert!(ImportedHash::parse(&with_cost(ok)).is_ok(), "{ok}");
        }
        for bad in ["00", "03", "15", "20", "31", "99"] {
            assert_eq!(
                refused(&with_cost(bad)),
                "bcrypt cost must be between 4 and 14"
            );
        }
    }

    #[test]
    fn argon2_over_the_memory_or_work_bound_is_refused() {
        assert!(ImportedHash::parse(&argon2("m=262144,t=4,p=4")).is_ok());
        assert!(ImportedHash::parse(&argon2("m=19456,t=53,p=1")).is_ok());
        assert!(refused(&argon2("m=262145,t=1,p=1")).contains("memory above"));
        assert!(refused(&argon2("m=1048576,t=4,p=4")).contains("memory above")); // libsodium "sensitive"
        assert!(refused(&argon2("m=262144,t=5,p=1")).contains("iterations above"));
        assert!(refused(&argon2("m=8,t=4294967295,p=1")).contains("iterations above"));
    }

    #[test]
    fn pbkdf2_over_the_iteration_bound_is_refused() {
        let with = |alg: &str, params: &str, hash: &str| {
            format!("$pbkdf2-{alg}${params}$YXV0aGQtaW1wb3J0LXNhbHQ${hash}")
        };
        let h32 = "CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk";
        let h64 = &PBKDF2_SHA512[PBKDF2_SHA512.len() - 86..];
        assert!(ImportedHash::parse(&with("sha256", "i=2000000,l=32", h32)).is_ok());
        assert!(ImportedHash::parse(&with("sha512", "i=2000000,l=64", h64)).is_ok());
        assert!(ImportedHash::parse(&with("sha256", "i=1000000,l=64", h64)).is_ok());
        for raw in [
            with("sha256", "i=2000001,l=32", h32),
            with("sha512", "i=4294967295,l=64", h64),
            // 64 bytes of sha256 output are two PBKDF2 blocks: twice the iterations.
            with("sha256", "i=1000001,l=64", h64),
        ] {
            assert_eq!(
                refused(&raw),
                "pbkdf2 iterations must be between 1 and 2000000"
            );
        }
    }

    #[test]
    fn scrypt_over_the_memory_or_work_bound_is_refused() {
        let with = |params: &str| {
            format!("$scrypt${params}$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U")
        };
        assert!(ImportedHash::parse(&with("ln=18,r=8,p=1")).is_ok());
        assert!(ImportedHash::parse(&with("ln=17,r=8,p=2")).is_ok());
        assert!(refused(&with("ln=19,r=8,p=1")).contains("memory"));
        assert!(refused(&with("ln=20,r=8,p=1")).contains("memory"));
        assert!(refused(&with("ln=14,r=1024,p=1")).contains("memory"));
        assert!(refused(&with("ln=18,r=8,p=2")).contains("work"));
        assert!(refused(&with("ln=10,r=8,p=100000")).contains("work"));
        assert!(refused(&with("ln=63,r=8,p=1")).contains("parameters"));
    }

    #[test]
    fn debug_shows_the_scheme_only() {
        let hash = ImportedHash::parse(BCRYPT_PHP).unwrap();
        let debug = format!("{hash:?}");
        assert_eq!(debug, "ImportedHash(Bcrypt, [redacted])");
    }
}
