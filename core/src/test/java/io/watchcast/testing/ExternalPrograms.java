package io.watchcast.testing;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.lang.reflect.AnnotatedElement;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The condition behind {@link RequiresProgram}: skips outside CI, fails with {@code CI=true}. The
 * skip line goes to the process's real standard error, past the test runner's capture, so that it
 * appears once in the build's output for each class it skips.
 */
public final class ExternalPrograms implements ExecutionCondition {
  private static final Set<String> SAID = ConcurrentHashMap.newKeySet();

  /** Whether this run is CI's ({@code CI=true}), where every external program is required. */
  public static boolean inCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** The program's path when it is installed. */
  public static Optional<Path> find(RequiresProgram program) {
    if (!program.env().isEmpty()) {
      String fromEnv = System.getenv(program.env());
      if (fromEnv != null && !fromEnv.isEmpty() && Files.isExecutable(Path.of(fromEnv))) {
        return Optional.of(Path.of(fromEnv));
      }
    }
    for (String candidate : program.paths()) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Optional.of(Path.of(candidate));
      }
    }
    return Optional.empty();
  }

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    Optional<AnnotatedElement> element = context.getElement();
    if (element.isEmpty()) {
      return ConditionEvaluationResult.enabled("nothing to check");
    }
    for (RequiresProgram program :
        AnnotationSupport.findRepeatableAnnotations(element.get(), RequiresProgram.class)) {
      if (find(program).isPresent()) {
        continue;
      }
      String line =
          program.value()
              + " not found, so "
              + context.getDisplayName()
              + " is skipped (install it: "
              + program.install()
              + (program.env().isEmpty() ? "" : ", or set " + program.env())
              + "; with CI=true it is required)";
      if (inCi()) {
        throw new AssertionError(
            program.value() + " not found; CI must install it: " + program.install());
      }
      if (SAID.add(context.getUniqueId())) {
        CONSOLE.println("[SKIPPED] " + line);
        CONSOLE.flush();
      }
      return ConditionEvaluationResult.disabled(line);
    }
    return ConditionEvaluationResult.enabled("every program it needs is installed");
  }

  // Surefire captures System.out and System.err of the forked JVM into report files; a skip that
  // only lands there is a skip nobody reads. File descriptor 2 reaches the build's console.
  private static final PrintStream CONSOLE =
      new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
}
