//! Password and keyboard-interactive authentication, tried after every key
//! as OpenSSH does. The password comes from `FLEET_SSH_PASSWORD` or one
//! prompt per run; it is only ever sent to the server.

use russh::MethodKind;
use russh::client::{AuthResult, Handle, Handler, KeyboardInteractiveAuthResponse};

use super::auth::{Attempts, Stop};
use super::context::SshContext;
use super::secrets::SSH_PASSWORD_ENV;
use super::target::Target;

/// A server may chain several info requests (e.g. a PAM conversation);
/// more rounds than this is a loop, not a login.
const MAX_ROUNDS: usize = 5;

/// Tries `password`, then `keyboard-interactive`, when the server accepts
/// them and a password is available. `None`: nothing more to try.
pub(crate) async fn try_passwords<H: Handler>(
    handle: &mut Handle<H>,
    ctx: &SshContext,
    target: &Target,
    attempts: &mut Attempts<'_>,
) -> Option<Stop> {
    let methods = match attempts.server_methods.clone().filter(|m| !m.is_empty()) {
        Some(methods) => methods,
        // No key was offered: ask with `none`, which also logs in to a
        // server that needs no authentication at all.
        None => {
            let probe = handle.authenticate_none(target.user.as_str());
            match tokio::time::timeout(target.connect_timeout, probe).await {
                Ok(Ok(AuthResult::Success)) => return Some(Stop::Success),
                Ok(Ok(AuthResult::Failure {
                    remaining_methods, ..
                })) => {
                    attempts.server_methods = Some(remaining_methods.clone());
                    remaining_methods
                }
                Ok(Err(_)) => return None,
                Err(_) => return Some(Stop::Fatal(attempts.timed_out("none", target))),
            }
        }
    };
    let password_ok = methods.contains(&MethodKind::Password);
    let keyboard_ok = methods.contains(&MethodKind::KeyboardInteractive);
    if !password_ok && !keyboard_ok {
        return None;
    }
    let Some(password) = ctx.secrets.ssh_password().await else {
        attempts.notes.push(format!(
            "the server accepts passwords, but none was given (set {SSH_PASSWORD_ENV} or run \
             from a terminal to be prompted)"
        ));
        return None;
    };
    if password_ok {
        let attempt = handle.authenticate_password(target.user.as_str(), password.expose());
        let result = match tokio::time::timeout(target.connect_timeout, attempt).await {
            Ok(result) => result.ok(),
            Err(_) => return Some(Stop::Fatal(attempts.timed_out("password", target))),
        };
        if let Some(stop) = attempts.record("password".to_string(), result) {
            return Some(stop);
        }
    }
    if keyboard_ok {
        let exchange = keyboard_interactive(handle, target, password.expose());
        let result = match tokio::time::timeout(target.connect_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => {
                let label = "keyboard-interactive";
                return Some(Stop::Fatal(attempts.timed_out(label, target)));
            }
        };
        if let Some(stop) = attempts.record("keyboard-interactive".to_string(), result) {
            return Some(stop);
        }
    }
    None
}

/// Answers every hidden prompt with the password and visible ones with an
/// empty line (fleet cannot know what a visible question wants).
async fn keyboard_interactive<H: Handler>(
    handle: &mut Handle<H>,
    target: &Target,
    password: &str,
) -> Option<AuthResult> {
    let mut reply = handle
        .authenticate_keyboard_interactive_start(target.user.as_str(), None)
        .await
        .ok()?;
    for _ in 0..MAX_ROUNDS {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Some(AuthResult::Success),
            KeyboardInteractiveAuthResponse::Failure {
                remaining_methods,
                partial_success,
            } => {
                return Some(AuthResult::Failure {
                    remaining_methods,
                    partial_success,
                });
            }
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .ok()?;
            }
        }
    }
    Some(AuthResult::Failure {
        remaining_methods: russh::MethodSet::empty(),
        partial_success: false,
    })
}
