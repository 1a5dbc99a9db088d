//! `--since`: a relative duration (`24h`), unix seconds or an RFC 3339 time.

use kaltura_client::clock::Clock as _;

/// Now, in unix seconds.
pub(crate) fn now() -> i64 {
    kaltura_client::clock::SystemClock.now_unix()
}

/// Parses `--since` relative to `now` (unix seconds).
pub(crate) fn parse(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "--since {text:?}: expected a duration (`24h`, `90m`, `7d`, `3600s`), unix seconds or an RFC 3339 time (`2026-01-01T00:00:00Z`)"
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = text.parse().map_err(|_| bad())?;
        if secs > now {
            return Err(format!("--since {text}: that is in the future"));
        }
        return Ok(secs);
    }
    if let Some((number, unit)) = text.split_at_checked(text.len().saturating_sub(1)) {
        let factor = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            "d" => Some(86_400),
            _ => None,
        };
        if let Some(factor) = factor
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            let n: i64 = number.parse().map_err(|_| bad())?;
            let back = n.checked_mul(factor).ok_or_else(bad)?;
            return now.checked_sub(back).ok_or_else(bad);
        }
    }
    let secs = rfc3339(text).ok_or_else(bad)?;
    if secs > now {
        return Err(format!("--since {text}: that is in the future"));
    }
    Ok(secs)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → unix seconds.
fn rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let tz = rest.get(1..)?;
            if tz.len() != 5 || tz.get(2..3)? != ":" {
                return None;
            }
            let h: i64 = tz.get(0..2)?.parse().ok()?;
            let m: i64 = tz.get(3..5)?.parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    #[test]
    fn durations_unix_and_rfc3339() {
        assert_eq!(parse("24h", NOW), Ok(NOW - 86_400));
        assert_eq!(parse("90m", NOW), Ok(NOW - 5_400));
        assert_eq!(parse("7d", NOW), Ok(NOW - 604_800));
        assert_eq!(parse("10s", NOW), Ok(NOW - 10));
        assert_eq!(parse("1700000000", NOW), Ok(1_700_000_000));
        // python3 -c 'import datetime;print(int(datetime.datetime(2026,1,1,tzinfo=datetime.timezone.utc).timestamp()))'
        assert_eq!(parse("2026-01-01T00:00:00Z", NOW), Ok(1_767_225_600));
        assert_eq!(parse("2026-01-01T02:00:00.5+02:00", NOW), Ok(1_767_225_600));
        assert_eq!(parse("2024-02-29T12:00:00Z", NOW), Ok(1_709_208_000));
    }

    #[test]
    fn garbage_and_the_future_are_refused() {
        for bad in [
            "",
            "h",
            "24x",
            "-5h",
            "2026-13-01T00:00:00Z",
            "2026-01-01",
            "soon",
            "99999999999999999999h",
        ] {
            assert!(parse(bad, NOW).is_err(), "{bad:?}");
        }
        assert!(parse("2099-01-01T00:00:00Z", NOW).is_err());
        assert!(parse(&(NOW + 10).to_string(), NOW).is_err());
    }
}
