package io.watchcast.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test class (or method) that needs a program installed on the machine, such as {@code
 * redis-server} or {@code chromium}. Where one of {@link #paths()} (or the file named by the
 * environment variable {@link #env()}) is executable, the tests run. Where none is:
 *
 * <ul>
 *   <li>outside CI the tests are skipped, and the build's output carries one line that says what is
 *       missing and how to install it;
 *   <li>with {@code CI=true} they fail with that line, since CI must install what they need ({@code
 *       .ci/run} does).
 * </ul>
 *
 * <p>{@code @BeforeEach} and {@code @AfterEach} of a skipped class do not run at all.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@Repeatable(RequiresProgram.All.class)
@ExtendWith(ExternalPrograms.class)
public @interface RequiresProgram {
  /** The program's name, as the skip line says it. */
  String value();

  /** Where it may be installed; the first executable one counts. */
  String[] paths();

  /** An environment variable that may name the program's path instead; empty for none. */
  String env() default "";

  /** How to install it, as the skip line says it. */
  String install();

  /** The container of repeated {@link RequiresProgram}s. */
  @Documented
  @Retention(RetentionPolicy.RUNTIME)
  @Target({ElementType.TYPE, ElementType.METHOD})
  @ExtendWith(ExternalPrograms.class)
  @interface All {
    RequiresProgram[] value();
  }
}
