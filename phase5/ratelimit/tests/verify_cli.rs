//! `ratelimit-verify` as a user runs it: reports on stdout, exit 0; bad input named by line, exit 2.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn verify(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ratelimit-verify"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("write the trace");
    child.wait_with_output().expect("it exits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_trace_is_reported_as_text_and_as_json() {
    let trace = "time,key,cost\n0,a\n0,a\n0,a\n0.5,a\n";
    let out = verify(&["-", "--rate", "2/s", "--burst", "2"], trace);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("admitted 3  denied 1"), "{stdout}");
    assert!(stdout.contains("0 false rejects"), "{stdout}");

    let out = verify(&["-", "--rate", "2/s", "--burst", "2", "--json"], trace);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v[0]["admitted"], 3);
    assert_eq!(v[0]["worst_window"]["excess"], 0);
}

#[test]
fn bad_input_is_a_message_and_exit_2_never_a_panic() {
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["-", "--rate", "2/s"],
            "0,a\n0.5,a,zero\n",
            "line 2: cost `zero`",
        ),
        (
            &["-", "--rate", "2/s"],
            "1,a\n0,a\n",
            "line 2: time 0.000000000 s is earlier",
        ),
        (&["-", "--rate", "2/fortnight"], "", "unit `fortnight`"),
        (&["-", "--rate", "2/s", "--burst", "0"], "", "--burst"),
        (
            &["-", "--rate", "2/s", "--algorithm", "magic"],
            "",
            "unknown `magic`",
        ),
    ];
    for (args, stdin, says) in cases {
        let out = verify(args, stdin);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
