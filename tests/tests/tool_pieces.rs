//! Adding a tool is one path (docs/adding-a-tool.md). These tests fail when a tool is
//! registered but one of its pieces is missing, or a tool crate exists that is not
//! registered, so a new crate cannot forget a piece. `tests/template.rs` checks the deployed
//! side of every Lambda crate (function, policy, route, alarms, the full set of events).

use std::collections::BTreeSet;

use integration_tests::{fault::FAULT_MATRIX_FUNCTIONS, workspace_root};

/// The registered tools: `(function, tool name)` from `common::tools::ALL`.
fn registered() -> Vec<(&'static str, String)> {
    common::tools::ALL
        .iter()
        .map(|t| {
            let name = t.parsed()["name"].as_str().unwrap().to_owned();
            (t.function, name)
        })
        .collect()
}

fn read(path: &str) -> String {
    let path = workspace_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_tool_crate_is_registered_and_every_registered_tool_is_a_crate() {
    let crates: BTreeSet<String> = std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").is_file() && p.join("src/lib.rs").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        // The agent and the MCP server call or serve the tools; they are not tools.
        .filter(|name| !integration_tests::NON_TOOL_LAMBDAS.contains(&name.as_str()))
        // Not a Lambda, let alone a tool: the terminal client (integration_tests::NOT_LAMBDAS).
        .filter(|name| !integration_tests::NOT_LAMBDAS.contains(&name.as_str()))
        .collect();
    let tools: BTreeSet<String> = registered().iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        crates, tools,
        "crates with a lib.rs and a main.rs (but the agent, the MCP server and the CLI) vs common::tools::ALL"
    );
}

#[test]
fn every_registered_tool_checks_its_input_type_against_its_schema() {
    for (function, _) in registered() {
        let lib = read(&format!("crates/{function}/src/lib.rs"));
        assert!(
            lib.contains("common::tools::conforms::<"),
            "crates/{function}/src/lib.rs: a unit test calls common::tools::conforms with its input type"
        );
    }
}

#[test]
fn every_registered_tool_is_a_column_of_the_fault_matrix() {
    for (function, _) in registered() {
        assert!(
            FAULT_MATRIX_FUNCTIONS.contains(&function),
            "{function} is not in integration_tests::fault::FAULT_MATRIX_FUNCTIONS (tests/faults.rs)"
        );
    }
}

#[test]
fn every_registered_tool_has_its_sample_events_sent_through_the_runtime_api() {
    let tests: String = std::fs::read_dir(workspace_root().join("tests/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for (function, _) in registered() {
        let call = format!("answer_every_sample_event(\"{function}\")");
        assert!(tests.contains(&call), "no test in tests/tests calls {call}");
    }
}

#[test]
fn the_default_system_prompt_tells_the_model_about_every_tool() {
    for (_, name) in registered() {
        assert!(
            agent::settings::DEFAULT_SYSTEM_PROMPT.contains(&name),
            "agent::settings::DEFAULT_SYSTEM_PROMPT does not say when to use {name}"
        );
    }
}
