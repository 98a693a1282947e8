//! How a [`RedisStore`](super::RedisStore) finds Redis (an address, or what Redis Sentinel
//! names as the primary) and sends commands: on its own connection, through the
//! application's connection manager, or through a cluster connection; and the two things a
//! cluster does differently: a scan runs on each primary, and every primary has a run id.

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisFuture, RedisResult, Value};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Where a Redis server is.
pub(super) enum Server {
    /// At a fixed address (a host name is resolved again at each connection, so a managed
    /// service's primary endpoint is followed across its failovers).
    Fixed(Client),
    /// Wherever Redis Sentinel says the primary is, asked again at each connection.
    Sentinel(tokio::sync::Mutex<SentinelClient>),
}

impl Server {
    /// A client for the server, asking the sentinels within `timeout` where it is.
    pub(super) async fn client(&self, timeout: Duration) -> RedisResult<Client> {
        match self {
            Server::Fixed(client) => Ok(client.clone()),
            Server::Sentinel(sentinel) => {
                let ask = async { sentinel.lock().await.async_get_client().await };
                tokio::time::timeout(timeout, ask)
                    .await
                    .map_err(|_| unexpected_io("no sentinel answered in time"))?
            }
        }
    }

    pub(super) fn is_tls(&self) -> bool {
        match self {
            Server::Fixed(client) => matches!(
                client.get_connection_info().addr(),
                redis::ConnectionAddr::TcpTls { .. }
            ),
            Server::Sentinel(_) => false,
        }
    }
}

/// How commands reach Redis.
pub(super) enum Commands {
    /// The store's own connection to `server`, made again after an error.
    Own {
        server: Arc<Server>,
        connection: Mutex<Option<MultiplexedConnection>>,
    },
    /// The application's connection manager, which reconnects by itself.
    Managed(ConnectionManager),
    /// A cluster connection, which follows the slots as they move and primaries as they
    /// fail over.
    Cluster(ClusterConnection),
}

impl Commands {
    pub(super) fn own(server: Arc<Server>) -> Commands {
        Commands::Own {
            server,
            connection: Mutex::new(None),
        }
    }

    /// A connection for one exchange; the store's own is made (again) if there is none,
    /// within `timeout`.
    pub(super) async fn connection(&self, timeout: Duration) -> RedisResult<Connection> {
        let (server, own) = match self {
            Commands::Managed(manager) => return Ok(Connection::Managed(manager.clone())),
            Commands::Cluster(cluster) => return Ok(Connection::Cluster(cluster.clone())),
            Commands::Own { server, connection } => (server, connection),
        };
        if let Some(con) = lock(own).as_ref() {
            return Ok(Connection::Own(con.clone()));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let con = server
            .client(timeout)
            .await?
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *lock(own) = Some(con.clone());
        Ok(Connection::Own(con))
    }

    /// After a failed exchange: the store's own connection is made again next time (a
    /// manager or a cluster connection reconnects by itself).
    pub(super) fn failed(&self) {
        if let Commands::Own { connection, .. } = self {
            *lock(connection) = None;
        }
    }
}

fn lock(
    connection: &Mutex<Option<MultiplexedConnection>>,
) -> MutexGuard<'_, Option<MultiplexedConnection>> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection for one exchange.
#[derive(Clone)]
pub(super) enum Connection {
    Own(MultiplexedConnection),
    Managed(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Own(con) => con.req_packed_command(cmd),
            Connection::Managed(con) => con.req_packed_command(cmd),
            Connection::Cluster(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Own(con) => con.req_packed_commands(pipeline, offset, count),
            Connection::Managed(con) => con.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(con) => con.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Own(con) => con.get_db(),
            Connection::Managed(con) => con.get_db(),
            Connection::Cluster(con) => con.get_db(),
        }
    }
}

/// A primary of a cluster, at the address the cluster connection knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Primary {
    host: String,
    port: u16,
    /// Changes when the server restarts; another primary has another.
    run_id: String,
}

impl Connection {
    /// Every primary of the cluster, in the order of their addresses; `None` when Redis is
    /// not a cluster.
    pub(super) async fn primaries(mut self) -> RedisResult<Option<Vec<Primary>>> {
        let Connection::Cluster(con) = &mut self else {
            return Ok(None);
        };
        let mut info = redis::cmd("INFO");
        info.arg("server");
        let every = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let Value::Map(answers) = con.route_command(info, every).await? else {
            return Err(unexpected("INFO from every primary"));
        };
        let mut primaries = answers
            .into_iter()
            .map(|(address, answer)| {
                let address = String::from_redis_value(address)?;
                let info = String::from_redis_value(answer)?;
                let (host, port) = address
                    .rsplit_once(':')
                    .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                    .ok_or_else(|| unexpected("a primary's address"))?;
                let run_id = run_id(&info)?;
                Ok(Primary { host, port, run_id })
            })
            .collect::<RedisResult<Vec<Primary>>>()?;
        primaries.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        Ok(Some(primaries))
    }

    /// The run id of the server (of a random node of a cluster); empty when the store's
    /// user may not run `INFO` (an ACL without `@dangerous`): then a failover is not seen,
    /// and only a loss of the data is (by the epoch marker).
    pub(super) async fn run_id(mut self) -> RedisResult<String> {
        let info: RedisResult<String> = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut self)
            .await;
        match info {
            Ok(info) => run_id(&info),
            Err(err) if err.code() == Some("NOPERM") => Ok(String::new()),
            Err(err) => Err(err),
        }
    }

    /// Runs `cmd` on `node`, or wherever the connection sends it when `None`.
    pub(super) async fn query_on<T: FromRedisValue>(
        mut self,
        cmd: Cmd,
        node: Option<&Primary>,
    ) -> RedisResult<T> {
        match (&mut self, node) {
            (Connection::Cluster(con), Some(node)) => {
                let there = SingleNodeRoutingInfo::ByAddress {
                    host: node.host.clone(),
                    port: node.port,
                };
                let value = con
                    .route_command(cmd, RoutingInfo::SingleNode(there))
                    .await?;
                Ok(T::from_redis_value(value)?)
            }
            (con, _) => cmd.query_async(con).await,
        }
    }
}

/// Who the primaries are and since when they run: changes with a failover, a restart, a
/// primary added or removed.
pub(super) fn fingerprint(primaries: &[Primary]) -> String {
    primaries
        .iter()
        .map(|p| format!("{}:{}={}", p.host, p.port, p.run_id))
        .collect::<Vec<_>>()
        .join(",")
}

fn run_id(info: &str) -> RedisResult<String> {
    let id = info
        .lines()
        .find_map(|line| line.strip_prefix("run_id:"))
        .ok_or_else(|| unexpected("INFO without a run_id"))?;
    Ok(id.trim().to_owned())
}

fn unexpected_io(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

fn unexpected(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, what))
}
