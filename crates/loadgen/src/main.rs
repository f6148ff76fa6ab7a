//! The load generator of the benchmarks in `scripts/`. It drives the JSON API from many
//! keep-alive connections on one thread, so that on a small machine the server keeps most of
//! the processor time; the scripts set up the data and report the figures.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[derive(Parser)]
struct Cli {
    /// The server, as host:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Connections working at once.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Submits prepared drafts: one `POST /api/v1/cases/{id}/submit` for each id in the file.
    Submit {
        #[arg(long)]
        token: String,
        /// One draft id a line.
        #[arg(long)]
        ids: PathBuf,
    },
    /// Runs whole request lifecycles: file, dispatch, sign, contact, reply, close, rate.
    Lifecycles {
        #[arg(long)]
        resident: String,
        #[arg(long)]
        desk: String,
        #[arg(long)]
        office: String,
        #[arg(long)]
        count: usize,
        /// Numbers the requests' texts from here, so runs do not repeat each other.
        #[arg(long, default_value_t = 0)]
        start: usize,
        #[arg(long)]
        unit: String,
        #[arg(long)]
        township: String,
    },
    /// The same GET, `count` times in all: the baseline a benchmark's figures are set against.
    Reads {
        #[arg(long)]
        token: String,
        #[arg(long)]
        path: String,
        #[arg(long)]
        count: usize,
    },
    /// Stands in for the operator's SMS gateway (or any endpoint the server posts to): answers
    /// every request at `--addr` with `200 ok` until stopped. Cheap, so that the gateway the
    /// benchmark needs takes little of the processor time the server is measured on.
    Sink,
}

/// One keep-alive connection.
struct Client {
    addr: String,
    sender: SendRequest<Full<Bytes>>,
    calls: usize,
}

impl Client {
    async fn connect(addr: &str) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = handshake(TokioIo::new(stream)).await?;
        tokio::task::spawn_local(connection);
        Ok(Self {
            addr: addr.to_owned(),
            sender,
            calls: 0,
        })
    }

    /// Calls the API and returns the answer's JSON; any status but 200 or 201 is an error.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let bytes = self.send(method, path, token, body).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// One call; its answer's body, which must come with 200 or 201.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Bytes> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept-language", "zh-CN")
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        self.calls += 1;
        if !matches!(status.as_u16(), 200 | 201) {
            bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(bytes)
    }
}

struct Lifecycle<'a> {
    resident: &'a str,
    desk: &'a str,
    office: &'a str,
    unit: &'a str,
    township: &'a str,
}

impl Lifecycle<'_> {
    async fn run(&self, c: &mut Client, n: usize) -> anyhow::Result<()> {
        let filed = c
            .call(
                Method::POST,
                "/api/v1/requests",
                self.resident,
                Some(json!({
                    "kind": "complaint",
                    "category": "traffic.parking",
                    "text": format!("小区门口每天晚上有人乱停车，把消防通道堵死了，打电话也没人管（{n}）"),
                    "township": self.township,
                })),
            )
            .await?;
        let id = filed["id"]
            .as_str()
            .context("filing answered without an id")?;
        let path = format!("/api/v1/requests/{id}/actions");
        let steps = [
            (self.desk, json!({"action": "dispatch", "unit": self.unit})),
            (self.office, json!({"action": "sign"})),
            (
                self.office,
                json!({"action": "contact", "note": "已电话联系"}),
            ),
            (
                self.office,
                json!({"action": "reply", "text": "已联系交警清理"}),
            ),
            (self.desk, json!({"action": "close"})),
            (self.resident, json!({"action": "rate", "score": 5})),
        ];
        for (token, body) in steps {
            c.call(Method::POST, &path, token, Some(body)).await?;
        }
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if matches!(cli.what, What::Sink) {
        return runtime.block_on(sink(&cli.addr));
    }
    let local = tokio::task::LocalSet::new();
    let (done, calls, seconds) = local.block_on(&runtime, run(cli))?;
    #[allow(clippy::cast_precision_loss)]
    let per_second = done as f64 / seconds;
    println!(
        "{}",
        json!({"done": done, "calls": calls, "seconds": seconds, "per_second": per_second})
    );
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<(usize, usize, f64)> {
    let mut clients = Vec::with_capacity(cli.clients);
    for _ in 0..cli.clients.max(1) {
        clients.push(Client::connect(&cli.addr).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    match &cli.what {
        What::Sink => bail!("the sink is not a load"),
        What::Submit { token, ids } => {
            let ids: Vec<String> = std::fs::read_to_string(ids)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            let share = ids.len().div_ceil(clients.len());
            for (mut c, chunk) in clients.into_iter().zip(ids.chunks(share.max(1))) {
                let chunk = chunk.to_vec();
                let token = token.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    for id in &chunk {
                        let answer = c
                            .call(
                                Method::POST,
                                &format!("/api/v1/cases/{id}/submit"),
                                &token,
                                None,
                            )
                            .await?;
                        if answer["reference"].as_str().is_none() {
                            bail!("submitting {id} gave no reference number: {answer}");
                        }
                    }
                    Ok((chunk.len(), c.calls))
                }));
            }
        }
        What::Reads { token, path, count } => {
            let n_clients = clients.len();
            for (k, mut c) in clients.into_iter().enumerate() {
                let (token, path) = (token.clone(), path.clone());
                let mine = (k..*count).step_by(n_clients).count();
                tasks.push(tokio::task::spawn_local(async move {
                    for _ in 0..mine {
                        c.send(Method::GET, &path, &token, None).await?;
                    }
                    Ok((mine, c.calls))
                }));
            }
        }
        What::Lifecycles {
            resident,
            desk,
            office,
            count,
            start,
            unit,
            township,
        } => {
            let n_clients = clients.len();
            for (k, mut c) in clients.into_iter().enumerate() {
                let (resident, desk, office) = (resident.clone(), desk.clone(), office.clone());
                let (unit, township) = (unit.clone(), township.clone());
                let mine: Vec<usize> = (k..*count).step_by(n_clients).map(|i| start + i).collect();
                tasks.push(tokio::task::spawn_local(async move {
                    let l = Lifecycle {
                        resident: &resident,
                        desk: &desk,
                        office: &office,
                        unit: &unit,
                        township: &township,
                    };
                    for n in &mine {
                        l.run(&mut c, *n).await?;
                    }
                    Ok((mine.len(), c.calls))
                }));
            }
        }
    }
    let (mut done, mut calls) = (0, 0);
    for t in tasks {
        let (d, c) = t.await??;
        done += d;
        calls += c;
    }
    Ok((done, calls, started.elapsed().as_secs_f64()))
}

async fn sink(addr: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let answer =
                hyper::service::service_fn(|request: Request<hyper::body::Incoming>| async move {
                    // Read to the end, so the connection can carry the next message.
                    let _ = request.into_body().collect().await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), answer)
                .await;
        });
    }
}
