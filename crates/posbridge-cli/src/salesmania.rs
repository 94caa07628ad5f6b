//! SalesMania's own commands: `posbridge salesmania teams` and `posbridge salesmania
//! visits list|add`, which use its connector's vendor-only calls.

use std::path::PathBuf;

use anyhow::anyhow;
use posbridge::salesmania::{NewVisit, SalesMania};
use serde::Deserialize;
use serde_json::json;

use crate::commands::Ctx;
use crate::exit::{CliError, Exit};
use crate::records;

/// `posbridge salesmania …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SalesManiaCommand {
    /// The sales teams of the selected database, as JSON
    #[command(after_help = "Example:\n  posbridge salesmania teams")]
    Teams,
    /// Salespeople's visits: list them, or record visits from a file
    #[command(after_help = "Example:\n  posbridge salesmania visits list\n  \
        posbridge salesmania visits add visits.ndjson")]
    Visits {
        #[command(subcommand)]
        action: VisitsAction,
    },
}

/// `posbridge salesmania visits …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum VisitsAction {
    /// Every visit, as JSON
    List,
    /// Record visits: `{"date": "2026-12-07", "customer_id": 3001, "team_id": …,
    /// "visit_status": …, "description": …}` records (JSON, a JSON array or NDJSON; `-`
    /// for standard input), every one checked before any is sent
    Add {
        /// The visits
        file: PathBuf,
    },
}

/// A visit as the command line reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitRecord {
    date: jiff::civil::Date,
    customer_id: u64,
    #[serde(default)]
    team_id: Option<u64>,
    #[serde(default)]
    visit_status: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The SalesMania client from the settings.
fn client(ctx: &Ctx) -> Result<SalesMania, CliError> {
    let info = posbridge::vendor("salesmania")
        .ok_or_else(|| CliError::new(Exit::Usage, anyhow!("this build has no SalesMania connector")))?;
    let config: posbridge::salesmania::Config = ctx
        .settings
        .vendor_config(&info)?
        .parse()
        .map_err(|e| CliError::from_posbridge("salesmania: cannot set up", e))?;
    SalesMania::new(config).map_err(|e| CliError::from_posbridge("salesmania: cannot set up", e))
}

fn print(ctx: &Ctx, value: &serde_json::Value) {
    if ctx.out.json {
        ctx.out.json(value);
    } else {
        outln!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    }
}

/// `posbridge salesmania …`.
pub async fn salesmania(ctx: &Ctx, command: &SalesManiaCommand) -> Result<Exit, CliError> {
    let salesmania = client(ctx)?;
    match command {
        SalesManiaCommand::Teams => {
            let teams = salesmania
                .list_teams()
                .await
                .map_err(|e| CliError::from_posbridge("salesmania: listing teams", e))?;
            print(ctx, &json!(teams));
            Ok(Exit::Ok)
        }
        SalesManiaCommand::Visits {
            action: VisitsAction::List,
        } => {
            let visits = salesmania
                .list_visits()
                .await
                .map_err(|e| CliError::from_posbridge("salesmania: listing visits", e))?;
            print(ctx, &json!(visits));
            Ok(Exit::Ok)
        }
        SalesManiaCommand::Visits {
            action: VisitsAction::Add { file },
        } => {
            let (source, text) = records::read_source(file)?;
            let records = records::parse::<VisitRecord>(&source, &text, "visit")?;
            let mut exit = Exit::Ok;
            for r in &records {
                let v = &r.value;
                let mut visit = NewVisit::new(v.date, v.customer_id);
                visit.team_id = v.team_id;
                visit.visit_status = v.visit_status.clone();
                visit.description = v.description.clone();
                match salesmania.add_visit(&visit).await {
                    Ok(id) => {
                        ctx.out
                            .json(&json!({"location": r.location, "outcome": "accepted", "id": id}));
                        ctx.out.human(format!(
                            "accepted   {}: visit to customer {} on {}{}",
                            r.location,
                            v.customer_id,
                            v.date,
                            id.map(|id| format!(" (id {id})")).unwrap_or_default()
                        ));
                    }
                    Err(e @ posbridge::Error::Auth { .. }) => {
                        return Err(CliError::from_posbridge("salesmania: recording visits", e));
                    }
                    Err(e) => {
                        exit = exit.worst(match Exit::for_error(&e) {
                            Exit::Usage => Exit::RecordsFailed,
                            other => other,
                        });
                        ctx.out.json(
                            &json!({"location": r.location, "outcome": crate::commands::outcome_name(&e),
                            "error": {"kind": e.kind(), "message": crate::quote::bound_text(&e.to_string())}}),
                        );
                        ctx.out.human(crate::quote::bound_text(&format!(
                            "{:<10} {}: {e}",
                            crate::commands::outcome_name(&e),
                            r.location
                        )));
                    }
                }
            }
            Ok(exit)
        }
    }
}
