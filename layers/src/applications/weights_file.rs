//! Keras's official ImageNet weight files: where they are looked for, and the one download.
//!
//! `weights="imagenet"` asks for the file Keras itself would download
//! (`keras.utils.get_file(name, url, cache_subdir='models', file_hash=md5)`). It is looked for,
//! in order, in
//!
//! 1. Keras's own cache, `$KERAS_HOME/models/` or `~/.keras/models/` (a machine where the
//!    course's notebooks already ran has the files there; astrograd reads them, never writes);
//! 2. astrograd's folder in the user cache, beside its datasets
//!    ([`astrograd_data::cache::user_cache_dir`]): `~/.cache/astrograd/models/` on Linux,
//!    `~/Library/Caches/astrograd/models/` on macOS, `%LOCALAPPDATA%\astrograd\models\` on
//!    Windows;
//!
//! and otherwise downloaded once into astrograd's cache, with a progress bar, through
//! [`astrograd_data::download::fetch_md5`]: atomic (a partial file never sits where it would be
//! found), resumable, and checked against Keras's MD5 where Keras publishes one (VGG16,
//! ResNet50; Keras publishes none for MobileNetV2). A cached file with the wrong MD5 is not
//! used: astrograd's copy is downloaded again, Keras's copy is skipped.
use std::path::{Path, PathBuf};

use astrograd_data::download::{fetch_md5, md5_file};
use astrograd_data::DataError;

use super::{ApplicationError, Result};

/// The folder of Keras's downloads.
pub const BASE_URL: &str = "https://storage.googleapis.com/tensorflow/keras-applications/";

/// One of Keras's weight files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsFile {
    /// The model it is for (`vgg16`), for messages.
    pub model: String,
    /// The file name, in the caches and at the end of the URL.
    pub name: String,
    /// Where Keras downloads it from.
    pub url: String,
    /// Keras's `file_hash` (MD5, lower-case hex), when Keras publishes one.
    pub md5: Option<String>,
}

impl WeightsFile {
    /// The file `name` under Keras's folder `subdir/` (`vgg16`, `resnet`, `mobilenet_v2`).
    pub fn keras(model: &str, subdir: &str, name: &str, md5: Option<&str>) -> WeightsFile {
        WeightsFile {
            model: model.to_string(),
            name: name.to_string(),
            url: format!("{BASE_URL}{subdir}/{name}"),
            md5: md5.map(str::to_string),
        }
    }

    /// The path of the file: found in a cache, or downloaded into astrograd's (see the module
    /// docs).
    ///
    /// # Errors
    /// [`ApplicationError::WeightsUnavailable`] naming the URL and the folders searched when
    /// the file is nowhere and the download fails (no internet, a wrong checksum: the bad file
    /// is removed).
    pub fn get(&self) -> Result<PathBuf> {
        self.get_in(&read_only_places(), astrograd_models_dir().as_deref())
    }

    /// [`WeightsFile::get`] with the places given: `look_in` is only read; `download_dir` is
    /// read, and where a missing file is downloaded.
    ///
    /// # Errors
    /// As [`WeightsFile::get`].
    pub fn get_in(&self, look_in: &[PathBuf], download_dir: Option<&Path>) -> Result<PathBuf> {
        let mut looked = Vec::new();
        for dir in look_in {
            let path = dir.join(&self.name);
            looked.push(dir.display().to_string());
            if path.is_file() && self.checksum_fits(&path) {
                return Ok(path);
            }
        }
        let unavailable =
            |looked: Vec<String>, source: DataError| ApplicationError::WeightsUnavailable {
                model: self.model.clone(),
                url: self.url.clone(),
                looked: looked.join(", "),
                source: Box::new(source),
            };
        let Some(dir) = download_dir else {
            let source = DataError::Download {
                url: self.url.clone(),
                detail: "no user cache folder (the system names none: is HOME set?)".to_string(),
            };
            return Err(unavailable(looked, source));
        };
        looked.push(dir.display().to_string());
        let path = dir.join(&self.name);
        if !path.is_file() {
            eprintln!("Downloading data from {}", self.url);
        }
        // Our own cache goes through `fetch_md5`, under its lock: a copy already there is
        // hashed once (then known by its size and time), a damaged one is downloaded again (as
        // Keras's get_file does) and replaced only by a verified file, and two programs asking
        // at once share one download.
        fetch_md5(&self.url, &path, self.md5.as_deref()).map_err(|e| unavailable(looked, e))
    }

    /// Whether the file at `path` has the published MD5 (true when none is published).
    fn checksum_fits(&self, path: &Path) -> bool {
        match &self.md5 {
            None => true,
            Some(md5) => md5_file(path).is_ok_and(|found| found.eq_ignore_ascii_case(md5)),
        }
    }
}

/// Keras's cache of downloads, `$KERAS_HOME/models` or `~/.keras/models` (the home folder as
/// Python's `expanduser("~")` finds it on Linux, macOS and Windows).
pub fn keras_models_dir() -> Option<PathBuf> {
    let home = std::env::var_os("KERAS_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".keras")))?;
    Some(home.join("models"))
}

/// astrograd's cache of model weights, beside its datasets: `~/.cache/astrograd/models` on
/// Linux (see [`astrograd_data::cache::user_cache_dir`] for macOS and Windows).
pub fn astrograd_models_dir() -> Option<PathBuf> {
    let datasets = astrograd_data::cache::user_cache_dir()?;
    Some(datasets.parent()?.join("models"))
}

fn read_only_places() -> Vec<PathBuf> {
    keras_models_dir().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// Serves `body` with 200 to every request for `requests` requests, then stops.
    fn serve(body: Vec<u8>, requests: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                served += 1;
            }
            served
        });
        (base, handle)
    }

    fn file(base: &str, md5: Option<&str>) -> WeightsFile {
        WeightsFile {
            model: "vgg16".to_string(),
            name: "w.h5".to_string(),
            url: format!("{base}/w.h5"),
            md5: md5.map(str::to_string),
        }
    }

    #[test]
    fn the_file_is_downloaded_once_then_found_in_the_cache() {
        let body = b"not the weights".to_vec();
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::write(&scratch, &body).unwrap();
        let md5 = md5_file(&scratch).unwrap();
        let (base, server) = serve(body.clone(), 1);
        let cache = dir.path().join("models");
        let got = file(&base, Some(&md5)).get_in(&[], Some(&cache)).unwrap();
        assert_eq!(got, cache.join("w.h5"));
        assert_eq!(std::fs::read(&got).unwrap(), body);
        assert_eq!(server.join().unwrap(), 1);
        // Found now, with no server at all.
        let again = file("http://127.0.0.1:9", Some(&md5))
            .get_in(&[], Some(&cache))
            .unwrap();
        assert_eq!(again, got);
        // Keras's cache is read first.
        let keras = dir.path().join("keras");
        std::fs::create_dir_all(&keras).unwrap();
        std::fs::write(keras.join("w.h5"), &body).unwrap();
        let from_keras = file("http://127.0.0.1:9", Some(&md5))
            .get_in(std::slice::from_ref(&keras), Some(&cache))
            .unwrap();
        assert_eq!(from_keras, keras.join("w.h5"));
    }

    #[test]
    fn a_damaged_copy_in_our_cache_is_downloaded_again() {
        let body = b"the real weights".to_vec();
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::write(&scratch, &body).unwrap();
        let md5 = md5_file(&scratch).unwrap();
        let cache = dir.path().join("models");
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::write(cache.join("w.h5"), b"the real weights, cut sh").unwrap();
        let (base, server) = serve(body.clone(), 1);
        let got = file(&base, Some(&md5)).get_in(&[], Some(&cache)).unwrap();
        assert_eq!(std::fs::read(&got).unwrap(), body);
        assert_eq!(
            server.join().unwrap(),
            1,
            "one download replaced the damaged copy"
        );
    }

    #[test]
    fn a_download_with_the_wrong_checksum_is_an_error_and_removed() {
        let (base, _server) = serve(b"not the weights".to_vec(), 1);
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("models");
        let wrong = "00000000000000000000000000000000";
        let err = file(&base, Some(wrong))
            .get_in(&[], Some(&cache))
            .unwrap_err();
        match &err {
            ApplicationError::WeightsUnavailable { source, url, .. } => {
                assert!(url.ends_with("/w.h5"));
                assert!(
                    matches!(source.as_ref(), DataError::Verification { what: "MD5", expected, .. } if expected == wrong),
                    "{source:?}"
                );
            }
            other => panic!("expected WeightsUnavailable, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("--weights PATH") && message.contains(wrong),
            "{message}"
        );
        let left: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert!(left.is_empty(), "left in the cache: {left:?}");
    }

    #[test]
    fn offline_the_error_names_the_url_and_the_way_out() {
        // Nothing listens on port 9 (discard) on a test machine.
        let dir = tempfile::tempdir().unwrap();
        let keras = dir.path().join("keras");
        let err = file("http://127.0.0.1:9", None)
            .get_in(
                std::slice::from_ref(&keras),
                Some(&dir.path().join("models")),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot get the ImageNet weights of vgg16"),
            "{err}"
        );
        assert!(err.contains("The file is http://127.0.0.1:9/w.h5"), "{err}");
        assert!(err.contains(&keras.display().to_string()), "{err}");
        assert!(err.contains("--weights none"), "{err}");
    }

    #[test]
    fn keras_urls_are_keras_s() {
        let f = WeightsFile::keras(
            "vgg16",
            "vgg16",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            None,
        );
        assert_eq!(
            f.url,
            "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        );
    }
}
