import com.typesafe.config.*;
import java.io.*;
import java.nio.charset.StandardCharsets;

/** Batch variant of shared/tools/HoconToJson: parses and resolves every file named on stdin (one
 *  path per line) in one JVM, and prints one line per file: "OK <concise json>" or "ERR <message>". */
public class HoconBatchToJson {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        ConfigParseOptions po = ConfigParseOptions.defaults().setAllowMissing(false);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            try {
                Config c = ConfigFactory.parseFile(new File(line).getAbsoluteFile(), po);
                c = c.resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(true));
                out.println("OK " + c.root().render(ConfigRenderOptions.concise()));
            } catch (ConfigException e) {
                out.println("ERR " + e.getClass().getSimpleName() + ": " + e.getMessage().replace('\n', ' '));
            }
        }
        out.flush();
    }
}
