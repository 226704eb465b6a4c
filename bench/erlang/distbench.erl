%% The Erlang side of bench/dist.bench.ts: the same workloads between two Erlang nodes.
%% peer:   erl -noshell -name b@127.0.0.1 -setcookie C -pa DIR -s distbench peer
%% client: erl -noshell -name a@127.0.0.1 -setcookie C -pa DIR -s distbench client b@127.0.0.1 serve
%%           then one command a line on stdin, one JSON answer a line on stdout:
%%           connect N | rtt N | flood SIZE N | quit
%%         erl ... -s distbench client b@127.0.0.1 watch
%% The bench drives the client line by line so that it can interleave Erlang rounds with ours.
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

client([Peer, serve]) ->
    _ = timed_connect(Peer, 50),
    wait_registered(Peer, 200),
    io:format("{\"event\":\"ready\"}~n"),
    serve(Peer);
client([Peer, watch]) ->
    _ = timed_connect(Peer, 50),
    erlang:monitor_node(Peer, true),
    io:format("{\"event\":\"monitoring\"}~n"),
    receive {nodedown, Peer} -> io:format("{\"event\":\"nodedown\",\"at\":~p}~n", [now_ms()]) end,
    halt(0).

serve(Peer) ->
    case io:get_line("") of
        eof -> halt(0);
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["connect", N] ->
                    Us = [connect_once(Peer) || _ <- lists:seq(1, list_to_integer(N))],
                    true = net_kernel:connect_node(Peer),
                    io:format("{\"connect_ms\":[~s]}~n", [join([X / 1000 || X <- Us])]);
                ["rtt", N] ->
                    Bin64 = binary:copy(<<1>>, 64),
                    Us = [begin T0 = now_us(), call(Peer, Bin64), now_us() - T0 end || _ <- lists:seq(1, list_to_integer(N))],
                    io:format("{\"rtt_us\":[~s]}~n", [join(Us)]);
                ["flood", Size, N] ->
                    {Ms, _} = flood(Peer, list_to_integer(Size), list_to_integer(N)),
                    io:format("{\"flood_ms\":~p}~n", [Ms]);
                ["quit"] -> halt(0)
            end,
            serve(Peer)
    end.

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
    case lists:member(Peer, nodes(hidden)) of
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

%% Wall-clock milliseconds with microsecond precision, comparable with the bench's own clock.
now_ms() -> os:system_time(microsecond) / 1000.

join(L) -> lists:join(",", [io_lib:format("~p", [X]) || X <- L]).
