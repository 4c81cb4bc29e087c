//! Misbehaves on request, so tests can check the host contains it.
//!
//! `get_permissions` reads the flow var `behavior`:
//! `loop`, `memory`, `trap`, `stack`, `read-file`, `write-file`, `socket`, `env`, `flood`,
//! `huge-error` (an 8 MiB error message), `huge-answer` (5,000 approvers, ~110 KB), `work`
//! (counts to the var `iterations`, a fixed amount of CPU work, then behaves), `sleep` (sleeps
//! for an hour); anything else behaves.

use assent_sdk::prelude::*;

struct Hostile;

#[assent_sdk::plugin]
impl Plugin for Hostile {
    fn get_permissions(event: &Event) -> Result<RequestPermission> {
        match event.var("behavior").unwrap_or("") {
            "loop" => spin_forever(),
            "memory" => eat_memory(),
            "trap" => trap(),
            "stack" => {
                let depth = recurse(std::hint::black_box(1));
                Err(PluginError::new(
                    "unreachable",
                    format!("recursed {depth} deep"),
                ))
            }
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Err(PluginError::new(
                    "escaped",
                    format!("read {} bytes", text.len()),
                )),
                Err(error) => Err(PluginError::new("io", error.to_string())),
            },
            "write-file" => match std::fs::write("/tmp/assent-hostile", b"pwned") {
                Ok(()) => Err(PluginError::new("escaped", "wrote a file")),
                Err(error) => Err(PluginError::new("io", error.to_string())),
            },
            "socket" => match std::net::TcpStream::connect("127.0.0.1:5432") {
                Ok(_) => Err(PluginError::new("escaped", "connected")),
                Err(error) => Err(PluginError::new("io", error.to_string())),
            },
            "env" => Err(PluginError::new(
                "env",
                format!(
                    "{} variables, {} arguments",
                    std::env::vars().count(),
                    std::env::args().count()
                ),
            )),
            "huge-error" => Err(PluginError::new("huge", "x".repeat(8 << 20))),
            "huge-answer" => Ok(RequestPermission::new(
                PermissionLevel::Admin,
                Permission::Users(
                    (0..200_000)
                        .map(|i| format!("user{i}@example.com"))
                        .collect(),
                ),
            )),
            "work" => {
                let iterations = event
                    .var("iterations")
                    .and_then(|text| text.parse().ok())
                    .unwrap_or(0_u64);
                let mut counter = 0_u64;
                for _ in 0..iterations {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
                Ok(RequestPermission::new(
                    PermissionLevel::Admin,
                    PermissionLevel::Member,
                ))
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Err(PluginError::new("unreachable", "slept for an hour"))
            }
            "flood" => {
                let line = "x".repeat(1023);
                for _ in 0..1024 {
                    println!("{line}");
                }
                Ok(RequestPermission::new(
                    PermissionLevel::Admin,
                    PermissionLevel::Admin,
                ))
            }
            _ => Ok(RequestPermission::new(
                PermissionLevel::Admin,
                PermissionLevel::Member,
            )),
        }
    }
}

fn spin_forever() -> ! {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn eat_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

#[allow(clippy::panic)]
fn trap() -> ! {
    panic!("the hostile plugin panicked on purpose")
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let padding = std::hint::black_box([depth; 64]);
    recurse(depth + 1) + padding[0]
}
