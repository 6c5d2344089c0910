//! Where each output goes: `--outfile`, or `--outdir` with `--outbase`, `--entry-names` and
//! `--out-extension`, as esbuild names them; and the default output format that runs there.

use anyhow::{Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use packem_db::Platform;

use crate::args::{BuildArgs, OutputFormat};

/// How entry outputs are named.
pub struct Naming {
    /// The output directory (the outfile's directory for `--outfile`).
    pub outdir: Utf8PathBuf,
    /// Per entry: the template with `[dir]` and `[name]` filled in (`[hash]` is filled in per
    /// build, from the output's bytes), the extension included.
    templates: Vec<String>,
    /// Whether the output goes to stdout (one entry, neither `--outfile` nor `--outdir`).
    pub stdout: bool,
    /// With `--splitting`: how the files are named (emission fills in the names, because split
    /// outputs import each other by path).
    pub chunks: Option<packem_host::ChunkNaming>,
    /// The directory `[dir]` is relative to (`--outbase`, else the entries' common directory).
    pub outbase: Utf8PathBuf,
}

impl Naming {
    /// The naming of `args` for `entries` (absolute).
    pub fn new(args: &BuildArgs, entries: &[Utf8PathBuf], cwd: &Utf8Path) -> Result<Naming> {
        let mut extension = ".js".to_string();
        for mapping in &args.out_extension {
            match mapping.split_once('=') {
                Some((".js", ext)) if ext.starts_with('.') && ext.len() > 1 && !ext.contains('/') => {
                    extension = ext.to_string();
                }
                _ => bail!("invalid --out-extension:{mapping} (expected --out-extension:.js=.EXT)"),
            }
        }
        let base = match &args.outbase {
            Some(base) => crate::args::absolute(cwd, base),
            None => packem_host::config::common_dir(entries),
        };
        if let Some(outfile) = &args.outfile {
            if entries.len() > 1 {
                bail!("--outfile cannot be used with multiple entry points (use --outdir)");
            }
            let outfile = crate::args::absolute(cwd, outfile);
            let dir = outfile.parent().map(Utf8Path::to_owned).unwrap_or_else(|| cwd.to_owned());
            let name = outfile.file_name().unwrap_or("out.js").to_string();
            if args.splitting {
                bail!("--splitting needs an output directory: use --outdir instead of --outfile");
            }
            return Ok(Naming { outdir: dir, templates: vec![name], stdout: false, chunks: None, outbase: base });
        }
        let Some(outdir) = &args.outdir else {
            if entries.len() == 1 && args.watch.is_none() && args.metafile.is_none() && !args.splitting {
                return Ok(Naming {
                    outdir: cwd.to_owned(),
                    templates: vec!["<stdout>".into()],
                    stdout: true,
                    chunks: None,
                    outbase: base,
                });
            }
            bail!(
                "specify an output: --outfile=FILE or --outdir=DIR (output goes to stdout only for one entry, without --watch)"
            )
        };
        let outdir = crate::args::absolute(cwd, outdir);
        let template = args.entry_names.clone().unwrap_or_else(|| "[dir]/[name]".to_string());
        if template.contains("..") || template.starts_with('/') {
            bail!("invalid --entry-names={template}: the template must be a relative path inside the output directory");
        }
        let mut templates = Vec::new();
        for entry in entries {
            let Ok(rel) = entry.strip_prefix(&base) else {
                bail!("the entry {entry} is not inside --outbase={base}");
            };
            let dir = rel.parent().map(|d| d.as_str().replace('\\', "/")).unwrap_or_default();
            let name = rel.file_stem().unwrap_or("out");
            let filled = template.replace("[dir]", &dir).replace("[name]", name).replace("[ext]", "js");
            let filled = filled.trim_start_matches("./").trim_start_matches('/').replace("//", "/");
            templates.push(format!("{filled}{extension}"));
        }
        let chunks = if args.splitting {
            let template = args.chunk_names.clone().unwrap_or_else(|| "[name]-[hash]".to_string());
            if template.contains("..") || template.starts_with('/') {
                bail!(
                    "invalid --chunk-names={template}: the template must be a relative path inside the output directory"
                );
            }
            Some(packem_host::ChunkNaming {
                entries: templates.clone(),
                chunks: template,
                extension,
                outbase: base.clone(),
            })
        } else {
            None
        };
        Ok(Naming { outdir, templates, stdout: false, chunks, outbase: base })
    }

    /// The output names (under [`Naming::outdir`]), `[hash]` filled in from each output's bytes.
    pub fn names(&self, hashes: impl Fn(usize) -> u128) -> Vec<String> {
        self.templates
            .iter()
            .enumerate()
            .map(|(i, template)| {
                if template.contains("[hash]") {
                    template.replace("[hash]", &packem_db::short_hash(&hashes(i).to_le_bytes()))
                } else {
                    template.clone()
                }
            })
            .collect()
    }

    /// Whether every output sits in one directory, and how far below the output directory
    /// (`./`, `../`): how code refers to assets placed at the output directory's root.
    pub fn asset_prefix(&self) -> Option<String> {
        let mut templates = self.templates.clone();
        if let Some(chunks) = &self.chunks {
            templates.push(format!("{}{}", chunks.chunks, chunks.extension));
        }
        let dirs: Vec<usize> =
            templates.iter().map(|t| Utf8Path::new(t).parent().map_or(0, |p| p.components().count())).collect();
        let first_dir = |t: &String| Utf8Path::new(t).parent().map(Utf8Path::to_owned);
        let same = templates.iter().all(|t| first_dir(t) == first_dir(&templates[0]));
        if !same
            || templates.iter().any(|t| t.contains("[dir]"))
            || templates
                .iter()
                .any(|t| t.contains("[hash]") && first_dir(t).is_some_and(|d| d.as_str().contains("[hash]")))
        {
            return None;
        }
        let depth = dirs.first().copied().unwrap_or(0);
        Some(if depth == 0 { "./".to_string() } else { "../".repeat(depth) })
    }

    /// The format to emit when `--format` is not given: one that runs as written where it is
    /// written (esbuild's platform defaults, refined by the file's extension and, for node, by
    /// the `"type"` of the package.json that governs the output directory).
    pub fn default_format(&self, platform: Platform) -> OutputFormat {
        let ext = self.templates.first().and_then(|t| Utf8Path::new(t).extension().map(str::to_ascii_lowercase));
        match ext.as_deref() {
            Some("mjs") => return OutputFormat::Esm,
            Some("cjs") => return OutputFormat::Cjs,
            _ => {}
        }
        match platform {
            Platform::Browser => OutputFormat::Iife,
            Platform::Neutral => OutputFormat::Esm,
            Platform::Node if packem_host::config::package_type_is_module(&self.outdir) => OutputFormat::Esm,
            Platform::Node => OutputFormat::Cjs,
        }
    }
}
