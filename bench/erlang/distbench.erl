%% The Erlang side of bench/dist.bench.ts: the same workloads between two Erlang nodes.
%% peer:   erl -noshell -name b@127.0.0.1 -setcookie C -pa DIR -s distbench peer
%% client: erl -noshell -name a@127.0.0.1 -setcookie C -pa DIR -s distbench client b@127.0.0.1 perf N RTTN N100 N64K
%%         erl ... -s distbench client b@127.0.0.1 watch
%% Results are printed as one JSON object a line.
-module(distbench).
-export([peer/0, client/1]).

peer() ->
    register(echo, spawn(fun echo/0)),
    register(sink, spawn(fun() -> sink(0) end)),
    io:format("{\"event\":\"ready\"}~n").

echo() ->
    receive {From, Ref, Bin} -> From ! {Ref, Bin}, echo() end.

sink(N) ->
    receive
        {count, From, Ref} -> From ! {Ref, N}, sink(N);
        _ -> sink(N + 1)
    end.

client([PeerA, perf, ConnN, RttN, N100, N64k]) ->
    Peer = PeerA,
    _ = timed_connect(Peer, 50),
    wait_registered(Peer, 200),
    Connect = [connect_once(Peer) || _ <- lists:seq(1, atom_int(ConnN))],
    true = net_kernel:connect_node(Peer),
    Bin64 = binary:copy(<<1>>, 64),
    _ = [call(Peer, Bin64) || _ <- lists:seq(1, 200)],
    Rtt = [begin T0 = now_us(), call(Peer, Bin64), now_us() - T0 end || _ <- lists:seq(1, atom_int(RttN))],
    {Ms100, _} = flood(Peer, 100, atom_int(N100)),
    {Ms64k, _} = flood(Peer, 65536, atom_int(N64k)),
    io:format("{\"connect_ms\":[~s],\"rtt_us\":[~s],\"flood100_ms\":~p,\"flood64k_ms\":~p}~n",
              [join([X / 1000 || X <- Connect]), join(Rtt), Ms100, Ms64k]),
    halt(0);
client([PeerA, watch]) ->
    _ = timed_connect(PeerA, 50),
    erlang:monitor_node(PeerA, true),
    io:format("{\"event\":\"monitoring\"}~n"),
    receive {nodedown, PeerA} -> io:format("{\"event\":\"nodedown\",\"at\":~p}~n", [os:system_time(millisecond)]) end,
    halt(0).

connect_once(Peer) ->
    erlang:disconnect_node(Peer),
    wait_gone(Peer, 500),
    timed_connect(Peer, 20).

%% The peer may not have noticed the disconnect yet and refuse a new connection: retry, timing
%% only the attempt that succeeds.
timed_connect(Peer, 0) -> error({cannot_connect, Peer, net_adm:names(), node(), erlang:get_cookie()});
timed_connect(Peer, N) ->
    T0 = now_us(),
    case net_kernel:connect_node(Peer) of
        true -> now_us() - T0;
        false -> timer:sleep(20), timed_connect(Peer, N - 1)
    end.

wait_gone(_Peer, 0) -> ok;
wait_gone(Peer, N) ->
    case lists:member(Peer, nodes()) of
        true -> timer:sleep(1), wait_gone(Peer, N - 1);
        false -> timer:sleep(5)
    end.

wait_registered(_Peer, 0) -> error(peer_not_ready);
wait_registered(Peer, N) ->
    case rpc:call(Peer, erlang, whereis, [sink]) of
        Pid when is_pid(Pid) -> ok;
        _ -> timer:sleep(10), wait_registered(Peer, N - 1)
    end.

call(Peer, Bin) ->
    Ref = make_ref(),
    {echo, Peer} ! {self(), Ref, Bin},
    receive {Ref, _} -> ok end.

count(Peer) ->
    Ref = make_ref(),
    {sink, Peer} ! {count, self(), Ref},
    receive {Ref, N} -> N end.

flood(Peer, Size, Count) ->
    Before = count(Peer),
    Bin = binary:copy(<<7>>, Size),
    T0 = now_us(),
    send_n({sink, Peer}, Bin, Count),
    After = count(Peer),
    Ms = (now_us() - T0) / 1000,
    Count = After - Before,
    {Ms, Count}.

send_n(_Dest, _Bin, 0) -> ok;
send_n(Dest, Bin, N) -> Dest ! Bin, send_n(Dest, Bin, N - 1).

now_us() -> erlang:monotonic_time(microsecond).

atom_int(A) -> list_to_integer(atom_to_list(A)).

join(L) -> lists:join(",", [io_lib:format("~p", [X]) || X <- L]).
