//! The inventory as declared, before inheritance: what the KDL and Ansible
//! readers build and `resolve` turns into the model's [`Inventory`]
//! (crate::model::Inventory). Below all three so none imports another.

use std::path::{Path, PathBuf};

use crate::model::{HostSettings, Span, Spanned, Vars};

/// Everything an inventory file declares, before inheritance is applied.
#[derive(Default)]
pub(crate) struct Tree {
    pub(crate) defaults: Level,
    /// One per group name, in order of first mention. Parents may come
    /// after their children (a forward reference).
    pub(crate) groups: Vec<GroupDecl>,
    /// Every `host` node, definitions and membership references alike, in
    /// declaration order.
    pub(crate) hosts: Vec<HostDecl>,
    /// `protect "prod"`: groups whose hosts no run touches unconfirmed.
    pub(crate) protected: Vec<Spanned<String>>,
    /// `waivers { waiver … }`: accepted failures on this inventory's hosts.
    pub(crate) waivers: Vec<crate::model::Waiver>,
}

/// Settings and vars as written at one level: defaults, a group or a host.
#[derive(Default, Clone)]
pub(crate) struct Level {
    pub(crate) settings: HostSettings,
    pub(crate) vars: Vars,
}

pub(crate) struct GroupDecl {
    pub(crate) name: String,
    pub(crate) span: Span,
    /// Direct parents, indices into `Tree::groups`, each with the node
    /// that made the link (for a cycle's error).
    pub(crate) parents: Vec<(usize, Span)>,
    /// Written with a children block. A bare `group NAME` inside another
    /// group is a membership reference when the group is defined
    /// elsewhere.
    pub(crate) defined: bool,
    pub(crate) level: Level,
}

pub(crate) struct HostDecl {
    pub(crate) name: String,
    pub(crate) span: Span,
    /// Written with properties or a children block. A bare `host NAME` is
    /// a membership reference when the host is defined elsewhere.
    pub(crate) explicit: bool,
    pub(crate) address: Option<String>,
    pub(crate) level: Level,
    /// The innermost enclosing group, an index into `Tree::groups`.
    pub(crate) group: Option<usize>,
}

/// How relative and `~/` paths in this file are resolved.
pub(crate) struct PathContext {
    dir: PathBuf,
    home: Option<PathBuf>,
}

impl PathContext {
    pub(crate) fn new(file: &Path) -> Self {
        PathContext {
            dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    /// Relative to the inventory's directory so the file works from any
    /// working directory; `~/` is the user's home, as in ssh_config.
    pub(crate) fn resolve(&self, text: &str) -> PathBuf {
        if let (Some(rest), Some(home)) = (text.strip_prefix("~/"), &self.home) {
            return home.join(rest);
        }
        if let ("~", Some(home)) = (text, &self.home) {
            return home.clone();
        }
        self.dir.join(text)
    }
}
