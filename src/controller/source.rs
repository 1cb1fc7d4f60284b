//! Where `run` reads its desired state: files, or objects CI uploaded to S3.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::aws::s3::SdkS3;
use crate::load::diagnostic::{Diagnostic, Diagnostics};
use crate::load::s3::{S3Read, S3Source};
use crate::load::tree::Pos;
use crate::load::{self, Source};

/// How often files are re-read between loops to notice a new revision.
const FILE_POLL: Duration = Duration::from_secs(1);
/// An S3 set that stays incomplete for this many polls is rejected: an upload
/// takes seconds, an object edited without a new `REVISION` stays so.
const INCOMPLETE_POLLS: u32 = 3;

#[derive(Clone)]
pub enum DesiredSource {
    Files(Vec<PathBuf>),
    S3 {
        source: S3Source,
        client: SdkS3,
        /// Time between two listings (one ListObjectsV2 each, GetObject only for new ETags).
        poll: Duration,
    },
}

impl fmt::Debug for DesiredSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DesiredSource::Files(files) => f.debug_tuple("Files").field(files).finish(),
            DesiredSource::S3 { source, poll, .. } => f
                .debug_struct("S3")
                .field("source", &source.to_string())
                .field("poll", poll)
                .finish(),
        }
    }
}

/// One read of the source.
#[derive(Debug)]
pub enum Read {
    Ready(Source),
    /// Documents newer than `REVISION`: keep the last revision for now.
    Incomplete {
        /// Names this state, so it is rejected (and reported) once.
        revision: String,
        problem: Diagnostics,
    },
    /// Could not be read at all (S3 unavailable, a file unreadable).
    Failed(String),
}

impl DesiredSource {
    pub async fn read(&mut self) -> Read {
        match self {
            DesiredSource::Files(paths) => match load::read_sources(paths) {
                Ok(source) => Read::Ready(source),
                Err(diags) => {
                    Read::Failed(diags.0.first().map(ToString::to_string).unwrap_or_default())
                }
            },
            DesiredSource::S3 { source, client, .. } => match source.read(client).await {
                Ok(S3Read::Ready(s)) => Read::Ready(s),
                Ok(S3Read::Incomplete {
                    revision_hint,
                    newest_document,
                    revision_written,
                }) => {
                    let mut problem = Diagnostics::default();
                    problem.push(Diagnostic::new(
                        &format!("{source}REVISION"),
                        Pos::default(),
                        format!(
                            "written at {revision_written}, but a document under {source} is newer \
                             ({newest_document}): the upload is incomplete, or a document was \
                             changed without a new REVISION"
                        ),
                    ));
                    Read::Incomplete {
                        revision: format!("{revision_hint}+incomplete@{newest_document}"),
                        problem,
                    }
                }
                Err(diags) => Read::Failed(diags.to_string()),
            },
        }
    }

    /// Time between two reads while the controller waits.
    pub fn poll(&self) -> Duration {
        match self {
            DesiredSource::Files(_) => FILE_POLL,
            DesiredSource::S3 { poll, .. } => *poll,
        }
    }

    /// How long an incomplete set is waited for before it is rejected.
    pub fn incomplete_grace(&self) -> Duration {
        self.poll() * INCOMPLETE_POLLS
    }
}
