import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.maven.artifact.versioning.ComparableVersion;

/**
 * Judges "a TAB b" pairs (stdin) with Maven's own ComparableVersion (Debian's maven package,
 * /usr/share/maven/lib/maven-artifact-3.x.jar); prints "a TAB b TAB -1|0|1". Run as a single-file program:
 * java -cp maven-artifact-3.x.jar MavenOracle.java
 */
public class MavenOracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split("\t", -1);
            int c = new ComparableVersion(f[0]).compareTo(new ComparableVersion(f[1]));
            out.append(f[0]).append('\t').append(f[1]).append('\t').append(Integer.signum(c)).append('\n');
        }
        System.out.print(out);
    }
}
