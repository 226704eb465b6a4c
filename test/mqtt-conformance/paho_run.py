"""Runs one test of the Eclipse Paho interoperability suite against a given broker.

    python3 paho_run.py SUITE_DIR MODULE TEST HOST PORT

MODULE is client_test (MQTT 3.1.1) or client_test5 (MQTT 5), TEST a method of its Test class,
e.g. test_retained_messages. The suite reads its broker address and topic names from module
globals that only its __main__ block sets (from a command line that unittest parses again);
this sets them directly and hands unittest a clean command line. Exit status 0 when the test
passed, 1 when it failed or errored, 2 on bad arguments. The suite can block forever on some
failures: the caller bounds the run with a timeout.
"""

import importlib
import logging
import os
import sys
import unittest


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    suite_dir, module_name, test_name, host, port = argv[1:]
    if module_name not in ("client_test", "client_test5"):
        sys.stderr.write("MODULE must be client_test or client_test5\n")
        return 2
    sys.path.insert(0, suite_dir)
    module = importlib.import_module(module_name)

    # The globals the suite's __main__ would set.
    module.host = host
    module.port = int(port)
    if module_name == "client_test":
        module.topics = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
        module.wildtopics = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
    else:
        # setUpClass calls setData(), which sets the plain topic names again; the prefix is only
        # read by test_shared_subscriptions.
        module.topic_prefix = "client_test5/"
        module.topics = [module.topic_prefix + t for t in ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")]
        module.wildtopics = [module.topic_prefix + t for t in ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")]
    module.nosubscribe_topics = ("test/nosubscribe",)

    logging.getLogger().setLevel(logging.ERROR)
    sys.argv = [argv[0]]
    suite = unittest.defaultTestLoader.loadTestsFromName("Test." + test_name, module)
    if suite.countTestCases() != 1:
        sys.stderr.write("no test %s in %s\n" % (test_name, module_name))
        return 2
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # The suite's receiver threads may still be blocked on their sockets: leave without joining them.
    os._exit(code)
