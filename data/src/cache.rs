//! Where dataset files are looked for, and where downloads go.
//!
//! A loader asks a [`Lookup`] for its files. The lookup tries a list of folders in order and
//! takes the first one that holds *every* file (compressed `name.gz` or already gunzipped
//! `name`); if none does, it downloads what is missing into the user cache with
//! [`crate::download::fetch`]. The files in the user cache are checked by `fetch` too (size
//! and SHA-256, hashed the first time only), and a damaged one is downloaded again; the files
//! in the other places are the user's own, and used as they are. The standard order, built
//! by [`Lookup::standard`], is
//!
//! 1. an explicit folder given by the caller (`load_data_from(dir)`),
//! 2. `$ASTROGRAD_DATA/<dataset>/`,
//! 3. the user cache, `<cache>/astrograd/datasets/<dataset>/`, where `<cache>` is the
//!    system's cache folder ([`user_cache_dir`]: `~/.cache` on Linux, `~/Library/Caches` on
//!    macOS, `AppData\Local` on Windows),
//! 4. folders where a system package installs the data (Debian's `dataset-fashion-mnist`),
//! 5. a download into the user cache.
//!
//! When everything fails, [`DataError::NotFound`] lists each place looked, why it did not do,
//! why the download failed, and how to put the files in place by hand.
use std::path::{Path, PathBuf};

use crate::download::{fetch, RemoteFile};
use crate::error::{DataError, Result};

/// Environment variable naming a folder with one sub-folder per dataset.
pub const DATA_ENV: &str = "ASTROGRAD_DATA";

/// One folder to look in, with where it came from (shown in error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Where the folder came from, e.g. "explicit path" or "$ASTROGRAD_DATA".
    pub origin: String,
    /// The folder that should hold the files.
    pub dir: PathBuf,
}

/// What to do when no place holds the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Download `base_url/<name>` for each missing file into `dir`.
    Download {
        /// The URL the file names are appended to.
        base_url: String,
        /// The folder the files are downloaded into.
        dir: PathBuf,
    },
    /// Give up, for this reason (e.g. no cache folder could be determined).
    Fail {
        /// Why there is no download.
        reason: String,
    },
}

/// An ordered search for a dataset's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The dataset's name, also the name of its sub-folder (e.g. "fashion-mnist").
    pub dataset: &'static str,
    /// Folders tried in order.
    pub places: Vec<Place>,
    /// What happens when none of them holds every file.
    pub fallback: Fallback,
    /// How to get the files by hand, shown when everything failed.
    pub how_to: String,
}

/// astrograd's datasets in the user's cache: `<cache>/astrograd/datasets`, where `<cache>` is
/// the system's cache folder, as the `dirs` crate finds it:
///
/// | system | `<cache>` | for example |
/// |---|---|---|
/// | Linux | `$XDG_CACHE_HOME`, or `$HOME/.cache` when it is unset or relative | `/home/alice/.cache` |
/// | macOS | `$HOME/Library/Caches` | `/Users/Alice/Library/Caches` |
/// | Windows | `{FOLDERID_LocalAppData}` | `C:\Users\Alice\AppData\Local` |
///
/// `None` when the system names no such folder (no home directory). To keep the data
/// elsewhere, set `ASTROGRAD_DATA` ([`DATA_ENV`]), which is looked in first.
pub fn user_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|cache| cache.join("astrograd").join("datasets"))
}

/// The file `name` in `dir`, or its gunzipped twin (`name` without `.gz`), if either exists.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let unzipped = dir.join(name.strip_suffix(".gz")?);
    unzipped.is_file().then_some(unzipped)
}

impl Lookup {
    /// The standard search order for `dataset` (see the module doc), reading `ASTROGRAD_DATA`
    /// from the environment and the cache folder from the system ([`user_cache_dir`]). `system` folders are tried after the
    /// user cache, each with its origin label; downloads come from `base_url`.
    pub fn standard(
        dataset: &'static str,
        explicit: Option<&Path>,
        system: &[Place],
        base_url: &str,
        how_to: String,
    ) -> Lookup {
        let data_root = std::env::var_os(DATA_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Lookup::standard_with(
            dataset,
            explicit,
            data_root,
            user_cache_dir(),
            system,
            base_url,
            how_to,
        )
    }

    /// [`Lookup::standard`] with the environment's values passed in: `data_root` for
    /// `$ASTROGRAD_DATA`, `cache_root` for [`user_cache_dir`].
    pub fn standard_with(
        dataset: &'static str,
        explicit: Option<&Path>,
        data_root: Option<PathBuf>,
        cache_root: Option<PathBuf>,
        system: &[Place],
        base_url: &str,
        how_to: String,
    ) -> Lookup {
        let mut places = Vec::new();
        if let Some(dir) = explicit {
            places.push(Place {
                origin: "explicit path".to_string(),
                dir: dir.to_path_buf(),
            });
        }
        if let Some(root) = data_root {
            places.push(Place {
                origin: format!("${DATA_ENV}"),
                dir: root.join(dataset),
            });
        }
        let cache = cache_root.map(|root| root.join(dataset));
        if let Some(dir) = &cache {
            places.push(Place {
                origin: "user cache".to_string(),
                dir: dir.clone(),
            });
        }
        places.extend(system.iter().cloned());
        let fallback = match cache {
            Some(dir) => Fallback::Download {
                base_url: base_url.to_string(),
                dir,
            },
            None => Fallback::Fail {
                reason: format!(
                    "no user cache folder to download into (the system names none: is HOME \
                     set?); set {DATA_ENV} or pass a folder"
                ),
            },
        };
        Lookup {
            dataset,
            places,
            fallback,
            how_to,
        }
    }

    /// The paths of `files`, in the same order, from the first place that holds them all,
    /// or from the download folder after fetching the missing ones.
    ///
    /// Files in the download folder are checked against their size and SHA-256 (hashed the
    /// first time only, see [`crate::download`]), and a damaged one is downloaded again; files
    /// in the other places are the user's own, and used as they are.
    ///
    /// # Errors
    /// [`DataError::NotFound`] listing every place looked and the download's failure.
    pub fn resolve(&self, files: &[RemoteFile]) -> Result<Vec<PathBuf>> {
        let mut looked = String::new();
        for place in &self.places {
            if !place.dir.is_dir() {
                looked += &format!(
                    "  - {}: {} (no such folder)\n",
                    place.origin,
                    place.dir.display()
                );
                continue;
            }
            let found: Vec<Option<PathBuf>> = files
                .iter()
                .map(|f| find_file(&place.dir, f.name))
                .collect();
            if found.iter().all(Option::is_some) {
                if self.downloads_into(&place.dir) {
                    return self.fetch_into_download_folder(files, &looked);
                }
                return Ok(found.into_iter().flatten().collect());
            }
            let missing: Vec<&str> = files
                .iter()
                .zip(&found)
                .filter(|(_, path)| path.is_none())
                .map(|(f, _)| f.name)
                .collect();
            looked += &format!(
                "  - {}: {} (missing {})\n",
                place.origin,
                place.dir.display(),
                missing.join(", ")
            );
        }
        self.fetch_into_download_folder(files, &looked)
    }

    /// Whether `dir` is the folder that downloads go to.
    fn downloads_into(&self, dir: &Path) -> bool {
        match &self.fallback {
            Fallback::Download {
                dir: download_dir, ..
            } => download_dir == dir,
            Fallback::Fail { .. } => false,
        }
    }

    /// The paths of `files` in the download folder, each fetched unless a verified copy is
    /// already there (see [`fetch`]). `looked` lists the places looked before, for the error.
    fn fetch_into_download_folder(
        &self,
        files: &[RemoteFile],
        looked: &str,
    ) -> Result<Vec<PathBuf>> {
        let not_found = |download: String| DataError::NotFound {
            dataset: self.dataset,
            looked: looked.to_string(),
            download,
            how_to: self.how_to.clone(),
        };
        let (base_url, dir) = match &self.fallback {
            Fallback::Fail { reason } => return Err(not_found(reason.clone())),
            Fallback::Download { base_url, dir } => (base_url, dir),
        };
        let mut paths = Vec::with_capacity(files.len());
        for file in files {
            let path = dir.join(file.name);
            // A gunzipped twin cannot be checked against the digest of the `.gz` file: it
            // was put there by hand, and is used as it is.
            if !path.is_file() {
                if let Some(twin) = find_file(dir, file.name) {
                    paths.push(twin);
                    continue;
                }
            }
            let url = format!("{}/{}", base_url.trim_end_matches('/'), file.name);
            let path = fetch(&url, &path, Some(file.sha256), Some(file.size))
                .map_err(|e| not_found(e.to_string()))?;
            paths.push(path);
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::download::sha256_bytes;
    use crate::download::test_server::{serve, Reply};

    const A: RemoteFile = RemoteFile {
        name: "a.gz",
        sha256: "",
        size: 0,
    };
    const B: RemoteFile = RemoteFile {
        name: "b.gz",
        sha256: "",
        size: 0,
    };

    fn place(origin: &str, dir: &Path) -> Place {
        Place {
            origin: origin.to_string(),
            dir: dir.to_path_buf(),
        }
    }

    fn touch(dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).expect("create dir");
        std::fs::write(dir.join(name), b"x").expect("write");
    }

    #[test]
    fn the_first_place_with_every_file_wins() {
        let root = tempfile::tempdir().expect("temp dir");
        let (first, second, third) = (
            root.path().join("1"),
            root.path().join("2"),
            root.path().join("3"),
        );
        touch(&first, "a.gz"); // incomplete: b is missing
        touch(&second, "a"); // gunzipped twin of a.gz
        touch(&second, "b.gz");
        touch(&third, "a.gz");
        touch(&third, "b.gz");
        let lookup = Lookup {
            dataset: "toy",
            places: vec![
                place("first", &first),
                place("second", &second),
                place("third", &third),
            ],
            fallback: Fallback::Fail {
                reason: "offline".to_string(),
            },
            how_to: String::new(),
        };
        let paths = lookup.resolve(&[A, B]).expect("second place is complete");
        assert_eq!(paths, vec![second.join("a"), second.join("b.gz")]);
    }

    #[test]
    fn the_error_lists_every_place_and_how_to_get_the_files() {
        let root = tempfile::tempdir().expect("temp dir");
        let partial = root.path().join("partial");
        touch(&partial, "b.gz");
        let lookup = Lookup {
            dataset: "toy",
            places: vec![
                place("explicit path", &root.path().join("nowhere")),
                place("user cache", &partial),
            ],
            fallback: Fallback::Fail {
                reason: "offline for the test".to_string(),
            },
            how_to: "copy a.gz and b.gz by hand".to_string(),
        };
        let message = lookup
            .resolve(&[A, B])
            .expect_err("nothing complete")
            .to_string();
        for needle in [
            "explicit path",
            "nowhere (no such folder)",
            "user cache",
            "missing a.gz",
            "offline for the test",
            "copy a.gz and b.gz by hand",
        ] {
            assert!(message.contains(needle), "{needle:?} not in:\n{message}");
        }
    }

    #[test]
    fn missing_files_are_downloaded_into_the_cache() {
        let a_body = b"file a".to_vec();
        let b_body = b"file b".to_vec();
        let a = RemoteFile {
            name: "a.gz",
            sha256: Box::leak(sha256_bytes(&a_body).into_boxed_str()),
            size: a_body.len() as u64,
        };
        let b = RemoteFile {
            name: "b.gz",
            sha256: Box::leak(sha256_bytes(&b_body).into_boxed_str()),
            size: b_body.len() as u64,
        };
        // b is already cached (an earlier, interrupted run): only a is fetched.
        let routes = HashMap::from([("/data/a.gz".to_string(), Reply::Body(a_body.clone()))]);
        let (base, server) = serve(routes, 1);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join("cache");
        std::fs::create_dir_all(&cache).expect("cache dir");
        std::fs::write(cache.join("b.gz"), &b_body).expect("write");
        let lookup = Lookup {
            dataset: "toy",
            places: vec![place("user cache", &cache)],
            fallback: Fallback::Download {
                base_url: format!("{base}/data/"),
                dir: cache.clone(),
            },
            how_to: String::new(),
        };
        let paths = lookup.resolve(&[a, b]).expect("download succeeds");
        assert_eq!(paths, vec![cache.join("a.gz"), cache.join("b.gz")]);
        assert_eq!(std::fs::read(cache.join("a.gz")).expect("written"), a_body);
        assert_eq!(server.join().expect("server"), vec!["/data/a.gz"]);
    }

    #[test]
    fn a_damaged_file_in_the_cache_is_downloaded_again() {
        let body = b"file a".to_vec();
        let a = RemoteFile {
            name: "a.gz",
            sha256: Box::leak(sha256_bytes(&body).into_boxed_str()),
            size: body.len() as u64,
        };
        let routes = HashMap::from([("/data/a.gz".to_string(), Reply::Body(body.clone()))]);
        let (base, server) = serve(routes, 1);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join("cache");
        std::fs::create_dir_all(&cache).expect("cache dir");
        std::fs::write(cache.join("a.gz"), b"file b").expect("damaged copy, same size");
        let lookup = Lookup {
            dataset: "toy",
            places: vec![place("user cache", &cache)],
            fallback: Fallback::Download {
                base_url: format!("{base}/data/"),
                dir: cache.clone(),
            },
            how_to: String::new(),
        };
        let paths = lookup.resolve(&[a]).expect("fetched again");
        assert_eq!(paths, vec![cache.join("a.gz")]);
        assert_eq!(std::fs::read(cache.join("a.gz")).expect("replaced"), body);
        assert_eq!(server.join().expect("server"), vec!["/data/a.gz"]);
    }

    #[test]
    fn a_failed_download_is_reported_with_the_places_looked() {
        let (base, _server) = serve(HashMap::new(), 1);
        let root = tempfile::tempdir().expect("temp dir");
        let cache = root.path().join("cache");
        let lookup = Lookup {
            dataset: "toy",
            places: vec![place("user cache", &cache)],
            fallback: Fallback::Download {
                base_url: base.clone(),
                dir: cache.clone(),
            },
            how_to: "by hand".to_string(),
        };
        let message = lookup.resolve(&[A]).expect_err("404").to_string();
        assert!(message.contains(&format!("{base}/a.gz")), "{message}");
        assert!(message.contains("HTTP 404"), "{message}");
        assert!(message.contains("user cache"), "{message}");
        assert!(find_file(&cache, "a.gz").is_none());
    }

    #[test]
    fn the_standard_order_is_explicit_env_cache_system() {
        let system = [place(
            "Debian package",
            Path::new("/usr/share/datasets/toy"),
        )];
        let lookup = Lookup::standard_with(
            "toy",
            Some(Path::new("/mine")),
            Some(PathBuf::from("/data")),
            Some(PathBuf::from("/home/me/.cache/astrograd/datasets")),
            &system,
            "https://example.org/toy/",
            String::new(),
        );
        let dirs: Vec<&Path> = lookup.places.iter().map(|p| p.dir.as_path()).collect();
        assert_eq!(
            dirs,
            vec![
                Path::new("/mine"),
                Path::new("/data/toy"),
                Path::new("/home/me/.cache/astrograd/datasets/toy"),
                Path::new("/usr/share/datasets/toy"),
            ]
        );
        assert_eq!(
            lookup.fallback,
            Fallback::Download {
                base_url: "https://example.org/toy/".to_string(),
                dir: PathBuf::from("/home/me/.cache/astrograd/datasets/toy"),
            }
        );
        // Without a cache folder there is nothing to download into.
        let offline = Lookup::standard_with("toy", None, None, None, &[], "u", String::new());
        assert!(offline.places.is_empty());
        assert!(matches!(offline.fallback, Fallback::Fail { .. }));
    }

    #[test]
    fn the_cache_folder_is_the_systems() {
        let cache = dirs::cache_dir();
        assert_eq!(
            user_cache_dir(),
            cache.as_ref().map(|c| c.join("astrograd").join("datasets"))
        );
        // On Linux, what the module doc promises: $XDG_CACHE_HOME when it is absolute, else
        // $HOME/.cache (read here, not set: tests run in parallel in one process).
        if cfg!(target_os = "linux") {
            if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                let xdg = std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .filter(|path| path.is_absolute());
                let expected = xdg.unwrap_or_else(|| PathBuf::from(home).join(".cache"));
                assert_eq!(cache, Some(expected));
            }
        }
    }

    #[test]
    fn find_file_accepts_the_gunzipped_twin() {
        let root = tempfile::tempdir().expect("temp dir");
        touch(root.path(), "x-idx1-ubyte");
        assert_eq!(
            find_file(root.path(), "x-idx1-ubyte.gz"),
            Some(root.path().join("x-idx1-ubyte"))
        );
        assert_eq!(find_file(root.path(), "y.gz"), None);
    }
}
