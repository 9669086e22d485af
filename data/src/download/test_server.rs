//! A tiny HTTP/1.1 server on 127.0.0.1 for the download tests (here and in the loaders).
//!
//! Each connection is answered on its own thread, so that two downloads can be under way at
//! once; the server stops by itself after `max_requests` connections or 20 seconds.
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a server lives at most, whatever its clients do.
const LIFETIME: Duration = Duration::from_secs(20);

/// What the server does for one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with the whole body.
    Body(Vec<u8>),
    /// 200 announcing the whole body, then the connection closes after `sent` bytes.
    DropAfter { body: Vec<u8>, sent: usize },
    /// Honours `Range: bytes=<start>-` with 206 and `Content-Range` (416 past the end);
    /// 200 with the whole body without a Range header.
    Ranged(Vec<u8>),
    /// 200 with the whole body, sent in two parts: the first `first` bytes at once, the rest
    /// once `gate` is open (or the server's time is up). A test opens the gate when it has
    /// seen what it wanted to see while the download was surely under way.
    Gated {
        body: Vec<u8>,
        first: usize,
        gate: Arc<AtomicBool>,
    },
}

/// Serves `routes` (path → reply; anything else is a 404) for at most `max_requests`
/// requests or 20 seconds, whichever comes first. Returns the base URL
/// (`http://127.0.0.1:PORT`) and a handle that yields the paths requested, in the order the
/// connections came, each followed by ` (bytes=<start>-)` when the request asked for a range.
pub fn serve(
    routes: HashMap<String, Reply>,
    max_requests: usize,
) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let routes = Arc::new(routes);
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + LIFETIME;
        let mut connections = Vec::new();
        while connections.len() < max_requests && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    let routes = Arc::clone(&routes);
                    connections.push(std::thread::spawn(move || {
                        answer(stream, &routes, deadline)
                    }));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        connections
            .into_iter()
            .filter_map(|connection| connection.join().ok().flatten())
            .collect()
    });
    (base, handle)
}

/// Answers the one request of `stream`; returns what [`serve`] reports for it, or `None`
/// when no request line could be read.
fn answer(stream: TcpStream, routes: &HashMap<String, Reply>, deadline: Instant) -> Option<String> {
    let mut stream = stream;
    stream.set_nonblocking(false).expect("blocking stream");
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    // Read the headers up to the blank line, keeping a Range header.
    let mut range_start: Option<usize> = None;
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("range: bytes=") {
            range_start = value.trim().trim_end_matches('-').parse().ok();
        }
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut extra = String::new();
    // `sent` bytes of `body` go out before the gate (all of them when there is none).
    let mut gate = None;
    let (status, body, sent) = match (routes.get(&path), range_start) {
        (Some(Reply::Body(body)), _) => ("200 OK", body.clone(), body.len()),
        (Some(Reply::DropAfter { body, sent }), _) => ("200 OK", body.clone(), *sent),
        (Some(Reply::Ranged(body)), Some(start)) if start < body.len() => {
            extra = format!(
                "Content-Range: bytes {start}-{}/{}\r\n",
                body.len() - 1,
                body.len()
            );
            let rest = body[start..].to_vec();
            let len = rest.len();
            ("206 Partial Content", rest, len)
        }
        (Some(Reply::Ranged(_)), Some(_)) => ("416 Range Not Satisfiable", vec![], 0),
        (Some(Reply::Ranged(body)), None) => ("200 OK", body.clone(), body.len()),
        (
            Some(Reply::Gated {
                body,
                first,
                gate: g,
            }),
            _,
        ) => {
            gate = Some(Arc::clone(g));
            ("200 OK", body.clone(), *first)
        }
        (None, _) => ("404 Not Found", b"not found".to_vec(), 9),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body[..sent]);
    let _ = stream.flush();
    if let Some(gate) = gate {
        while !gate.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = stream.write_all(&body[sent..]);
        let _ = stream.flush();
    }
    Some(match range_start {
        Some(start) => format!("{path} (bytes={start}-)"),
        None => path,
    })
}
