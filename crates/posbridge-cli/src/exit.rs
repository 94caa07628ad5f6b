//! Exit codes and how errors are printed.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything succeeded |
//! | 1 | some records were rejected, invalid (not sent) or uncertain, or a demo check failed |
//! | 2 | usage, configuration or input error (nothing was sent for a bad input file) |
//! | 3 | authentication failed |
//! | 4 | the vendor is unavailable, rate limiting, or unreachable |

use std::fmt::Write as _;
use std::process::ExitCode;

use posbridge::{Error, ErrorKind};

use crate::quote::bound_text;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: some records failed.
    RecordsFailed = 1,
    /// 2: usage, config or input error.
    Usage = 2,
    /// 3: authentication failed.
    Auth = 3,
    /// 4: vendor unavailable.
    Unavailable = 4,
}

impl Exit {
    /// The exit code for a posbridge error.
    pub fn for_error(e: &Error) -> Self {
        match e.kind() {
            ErrorKind::Auth => Exit::Auth,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Transport => Exit::Unavailable,
            ErrorKind::Invalid | ErrorKind::Config | ErrorKind::Unsupported => Exit::Usage,
            _ => Exit::RecordsFailed,
        }
    }

    /// Of two outcomes, the one to report: auth beats unavailable beats records.
    pub fn worst(self, other: Exit) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Ok => 0,
            Exit::RecordsFailed => 1,
            Exit::Unavailable => 2,
            Exit::Auth => 3,
            Exit::Usage => 4,
        };
        if rank(other) > rank(self) { other } else { self }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error with its exit code and an optional hint on what to do.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// What failed, with its cause chain.
    pub error: anyhow::Error,
    /// What to do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// An error with an exit code.
    pub fn new(exit: Exit, error: anyhow::Error) -> Self {
        Self {
            exit,
            error,
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A posbridge error, with what we were doing when it happened.
    pub fn from_posbridge(context: impl Into<String>, e: Error) -> Self {
        let exit = Exit::for_error(&e);
        let hint = hint_for(&e);
        let mut err = CliError::new(exit, anyhow::Error::new(e).context(context.into()));
        err.hint = hint;
        err
    }

    /// The message printed on stderr: what failed, its causes, and the hint. However
    /// long the input a message quotes, a long quoted value is cut to an excerpt and
    /// no line is longer than [`MAX_LINE`](crate::quote::MAX_LINE) bytes.
    pub fn render(&self) -> String {
        let mut s = format!("error: {}", self.error);
        for cause in self.error.chain().skip(1) {
            let _ = write!(s, "\n  caused by: {cause}");
        }
        if let Some(h) = &self.hint {
            let _ = write!(s, "\n  hint: {h}");
        }
        bound_text(&s)
    }

    /// The error as JSON, for `--json`, its texts bounded as [`CliError::render`]'s.
    pub fn to_json(&self) -> serde_json::Value {
        let causes: Vec<String> = self.error.chain().skip(1).map(|c| bound_text(&c.to_string())).collect();
        serde_json::json!({
            "error": {
                "message": bound_text(&self.error.to_string()),
                "causes": causes,
                "hint": self.hint.as_deref().map(bound_text),
                "exit_code": self.exit as u8,
            }
        })
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError::new(Exit::Usage, error)
    }
}

/// What to tell the user for an error kind.
pub fn hint_for(e: &Error) -> Option<String> {
    Some(match e.kind() {
        ErrorKind::Auth => "check the vendor's credentials (POSBRIDGE_<VENDOR>_<FIELD> or the config file)".into(),
        ErrorKind::RateLimited => match e.retry_after() {
            Some(d) => format!("the vendor asked to wait {}s; try again later", d.as_secs()),
            None => "the vendor is rate limiting; try again later".into(),
        },
        ErrorKind::Unavailable | ErrorKind::Transport => {
            "the vendor could not be reached or is failing; try again later".into()
        }
        ErrorKind::Uncertain => "the vendor may have applied this: check at the vendor before sending it again".into(),
        ErrorKind::Invalid => "nothing was sent: fix the record and send it again".into(),
        ErrorKind::Unsupported => "this vendor does not offer that operation".into(),
        _ => return None,
    })
}
