//! What the editor and the shell are given: the stack file's JSON Schema,
//! completion scripts and man pages, each generated (from the type schemas,
//! from the clap definitions), never written by hand.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use super::view::Console;
use crate::ops::Console as _;
use crate::ops::Failure;

/// `infra schema`: the JSON Schema of a stack file.
pub fn schema() -> Result<ExitCode, Failure> {
    let schema = crate::stack::json_schema::stack_schema();
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| Failure::new(format!("cannot write the schema: {e}"), None))?;
    Console.outln(&text);
    Ok(ExitCode::SUCCESS)
}

/// `infra completions SHELL`: a completion script for the shell.
pub fn completions(shell: Shell) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "infra", &mut out);
    Console.out(&String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// `infra man`: the man page of `infra` on standard output, or with `--out-dir`
/// one page per command written there (`infra.1`, `infra-plan.1`,
/// `infra-state-list.1`, ...).
pub fn man(out_dir: Option<&Path>) -> Result<ExitCode, Failure> {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        let mut out = Vec::new();
        render(&command, &mut out)?;
        Console.out(&String::from_utf8_lossy(&out));
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::new(
            format!("cannot make {}: {e}", dir.display()),
            Some("give --out-dir a folder that can be written"),
        )
    })?;
    let mut written = 0;
    write_pages(&command, "infra", dir, &mut written)?;
    Console.outln(&format!("{written} man pages written to {}", dir.display()));
    Ok(ExitCode::SUCCESS)
}

/// The page of `command` as `name`, then those of its subcommands.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut usize,
) -> Result<(), Failure> {
    let page = command.clone().name(name.to_string());
    let mut out = Vec::new();
    render(&page, &mut out)?;
    let path = dir.join(format!("{name}.1"));
    // Written beside and renamed into place: whatever is at the page's path
    // (a symbolic link included) is replaced, never written through.
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::new(
            format!("cannot write {}: {e}", path.display()),
            Some("give --out-dir a folder that can be written"),
        )
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| cannot(&e))?;
    std::io::Write::write_all(&mut file, &out).map_err(|e| cannot(&e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A page is for everyone to read, as a file written plainly would be.
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| cannot(&e))?;
    }
    file.persist(&path).map_err(|e| cannot(&e.error))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

fn render(command: &clap::Command, out: &mut Vec<u8>) -> Result<(), Failure> {
    clap_mangen::Man::new(command.clone())
        .render(out)
        .map_err(|e| Failure::new(format!("cannot render a man page: {e}"), None))
}
